"""Amazon marketplace ids and their currencies: documents that carry prices without a currency column
(listings, FBA inventory, estimated fees) get the marketplace's ISO 4217 code from here."""

from __future__ import annotations

MARKETPLACE_CURRENCY: dict[str, str] = {
    "ATVPDKIKX0DER": "USD",  # US
    "A2EUQ1WTGCTBG2": "CAD",  # CA
    "A1AM78C64UM0Y8": "MXN",  # MX
    "A2Q3Y263D00KWC": "BRL",  # BR
    "A1F83G8C2ARO7P": "GBP",  # UK
    "A1PA6795UKMFR9": "EUR",  # DE
    "A13V1IB3VIYZZH": "EUR",  # FR
    "APJ6JRA9NG5V4": "EUR",  # IT
    "A1RKKUPIHCS9HS": "EUR",  # ES
    "A1805IZSGTT6HS": "EUR",  # NL
    "A2NODRKZP88ZB9": "SEK",  # SE
    "A1C3SOZRARQ6R3": "PLN",  # PL
    "A33AVAJ2PDY3EV": "TRY",  # TR
    "A1VC38T7YXB528": "JPY",  # JP
    "A39IBJ37TRP1C6": "AUD",  # AU
    "A19VAU5U5O7RUS": "SGD",  # SG
    "A21TJRUUN4KGV": "INR",  # IN
    "A2VIGQ35RCS4UG": "AED",  # AE
}


def currency_of(marketplace_id: str) -> str | None:
    return MARKETPLACE_CURRENCY.get(marketplace_id)
