"""The Amazon marketplaces the sandbox knows: ids, currencies, sales channels, regions and tax rates."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Marketplace:
    marketplace_id: str
    country: str
    currency: str
    sales_channel: str
    region: str  # "na", "eu" or "fe", as in Amazon's document ids and endpoints
    # Rough price level against USD, so one SKU costs a plausible amount everywhere.
    fx_from_usd: Decimal
    # Sales tax (NA) or VAT (EU) rate used for item-tax.
    tax_rate: Decimal
    currency_decimals: int = 2
    language: str = "en"

    @property
    def is_eu(self) -> bool:
        return self.region == "eu"

    @property
    def listing_charset(self) -> str:
        """Charset of listing documents: Amazon serves EU listing reports as Cp1252."""
        return "Cp1252" if self.is_eu else "UTF-8"


MARKETPLACES: dict[str, Marketplace] = {
    m.marketplace_id: m
    for m in (
        Marketplace("ATVPDKIKX0DER", "US", "USD", "Amazon.com", "na", Decimal("1"), Decimal("0.07")),
        Marketplace("A2EUQ1WTGCTBG2", "CA", "CAD", "Amazon.ca", "na", Decimal("1.36"), Decimal("0.13")),
        Marketplace(
            "A1AM78C64UM0Y8",
            "MX",
            "MXN",
            "Amazon.com.mx",
            "na",
            Decimal("17.2"),
            Decimal("0.16"),
            language="es",
        ),
        Marketplace(
            "A2Q3Y263D00KWC",
            "BR",
            "BRL",
            "Amazon.com.br",
            "na",
            Decimal("5.0"),
            Decimal("0.17"),
            language="pt",
        ),
        Marketplace("A1F83G8C2ARO7P", "GB", "GBP", "Amazon.co.uk", "eu", Decimal("0.79"), Decimal("0.20")),
        Marketplace(
            "A1PA6795UKMFR9", "DE", "EUR", "Amazon.de", "eu", Decimal("0.92"), Decimal("0.19"), language="de"
        ),
        Marketplace(
            "A13V1IB3VIYZZH", "FR", "EUR", "Amazon.fr", "eu", Decimal("0.92"), Decimal("0.20"), language="fr"
        ),
        Marketplace(
            "APJ6JRA9NG5V4", "IT", "EUR", "Amazon.it", "eu", Decimal("0.92"), Decimal("0.22"), language="it"
        ),
        Marketplace(
            "A1RKKUPIHCS9HS", "ES", "EUR", "Amazon.es", "eu", Decimal("0.92"), Decimal("0.21"), language="es"
        ),
        Marketplace(
            "A1VC38T7YXB528",
            "JP",
            "JPY",
            "Amazon.co.jp",
            "fe",
            Decimal("150"),
            Decimal("0.10"),
            currency_decimals=0,
            language="ja",
        ),
    )
}

US = MARKETPLACES["ATVPDKIKX0DER"]


def get(marketplace_id: str) -> Marketplace:
    """Return the marketplace, raising KeyError for an id the sandbox does not know."""
    return MARKETPLACES[marketplace_id]
