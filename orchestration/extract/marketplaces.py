"""The catalogue of Amazon marketplaces: one home for each marketplace's facts the pipeline relies on.

- currency: documents that carry prices without a currency column (listings, FBA inventory, estimated fees)
  get the marketplace's ISO 4217 code from here;
- sales channel: the orders report names the marketplace only by its sales channel (`Amazon.de`);
- time zone: the day a sale belongs to is the marketplace's local day, as Seller Central shows it
  (docs/amazon/spapi-money.md section 5: US reports run midnight to midnight Pacific; Amazon's North
  American marketplaces share that Pacific day);
- whether item prices include the tax: EU and UK prices include VAT and the orders report's `item-tax` is
  the VAT part of `item-price` (section 6); North American sales tax is added on top of the price.

dbt reads the same facts through dbt_project/macros/marketplace_catalogue.sql, which is generated from this
module (`python -m orchestration.extract.marketplaces > dbt_project/macros/marketplace_catalogue.sql`);
tests/unit/test_marketplaces.py fails when the two differ, so the facts are never written twice by hand.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Marketplace:
    marketplace_id: str
    country: str  # ISO 3166 code as Amazon writes it (UK for the United Kingdom)
    currency: str
    sales_channel: str
    time_zone: str  # IANA name of the zone whose midnight starts the marketplace's day
    # True where the item price a buyer pays includes the tax and the orders report's item-tax is the part
    # of it that is tax (EU and UK VAT). False where tax is added on top (North American sales tax). For the
    # marketplaces outside the EU, UK and North America the orders report's treatment is not documented in
    # docs/amazon: they follow what the sandbox does (tax on top) until a real report says otherwise.
    price_includes_tax: bool


MARKETPLACES: tuple[Marketplace, ...] = (
    # North America: Seller Central's day is the Pacific day for every NA marketplace (spapi-money.md 5).
    Marketplace("ATVPDKIKX0DER", "US", "USD", "Amazon.com", "America/Los_Angeles", False),
    Marketplace("A2EUQ1WTGCTBG2", "CA", "CAD", "Amazon.ca", "America/Los_Angeles", False),
    Marketplace("A1AM78C64UM0Y8", "MX", "MXN", "Amazon.com.mx", "America/Los_Angeles", False),
    Marketplace("A2Q3Y263D00KWC", "BR", "BRL", "Amazon.com.br", "America/Sao_Paulo", False),
    # Europe: VAT is inside the price (spapi-money.md 6).
    Marketplace("A1F83G8C2ARO7P", "UK", "GBP", "Amazon.co.uk", "Europe/London", True),
    Marketplace("A28R8C7NBKEWEA", "IE", "EUR", "Amazon.ie", "Europe/Dublin", True),
    Marketplace("A1PA6795UKMFR9", "DE", "EUR", "Amazon.de", "Europe/Berlin", True),
    Marketplace("A13V1IB3VIYZZH", "FR", "EUR", "Amazon.fr", "Europe/Paris", True),
    Marketplace("APJ6JRA9NG5V4", "IT", "EUR", "Amazon.it", "Europe/Rome", True),
    Marketplace("A1RKKUPIHCS9HS", "ES", "EUR", "Amazon.es", "Europe/Madrid", True),
    Marketplace("A1805IZSGTT6HS", "NL", "EUR", "Amazon.nl", "Europe/Amsterdam", True),
    Marketplace("AMEN7PMS3EDWL", "BE", "EUR", "Amazon.com.be", "Europe/Brussels", True),
    Marketplace("A2NODRKZP88ZB9", "SE", "SEK", "Amazon.se", "Europe/Stockholm", True),
    Marketplace("A1C3SOZRARQ6R3", "PL", "PLN", "Amazon.pl", "Europe/Warsaw", True),
    Marketplace("A33AVAJ2PDY3EV", "TR", "TRY", "Amazon.com.tr", "Europe/Istanbul", False),
    Marketplace("A2VIGQ35RCS4UG", "AE", "AED", "Amazon.ae", "Asia/Dubai", False),
    Marketplace("A17E79C6D8DWNP", "SA", "SAR", "Amazon.sa", "Asia/Riyadh", False),
    Marketplace("ARBP9OOSHTCHU", "EG", "EGP", "Amazon.eg", "Africa/Cairo", False),
    Marketplace("AE08WJ6YKNBMC", "ZA", "ZAR", "Amazon.co.za", "Africa/Johannesburg", False),
    Marketplace("A21TJRUUN4KGV", "IN", "INR", "Amazon.in", "Asia/Kolkata", False),
    # Far East
    Marketplace("A1VC38T7YXB528", "JP", "JPY", "Amazon.co.jp", "Asia/Tokyo", False),
    Marketplace("A39IBJ37TRP1C6", "AU", "AUD", "Amazon.com.au", "Australia/Sydney", False),
    Marketplace("A19VAU5U5O7RUS", "SG", "SGD", "Amazon.sg", "Asia/Singapore", False),
)

BY_ID: dict[str, Marketplace] = {m.marketplace_id: m for m in MARKETPLACES}
MARKETPLACE_CURRENCY: dict[str, str] = {m.marketplace_id: m.currency for m in MARKETPLACES}
CURRENCIES: frozenset[str] = frozenset(m.currency for m in MARKETPLACES)
# The zone a day is counted in when a row names no known marketplace (an order of a non-Amazon sales channel).
FALLBACK_TIME_ZONE = "UTC"


def currency_of(marketplace_id: str) -> str | None:
    return MARKETPLACE_CURRENCY.get(marketplace_id)


def time_zone_of(marketplace_id: str) -> ZoneInfo:
    marketplace = BY_ID.get(marketplace_id)
    return ZoneInfo(marketplace.time_zone if marketplace else FALLBACK_TIME_ZONE)


def _case(column: str, values: dict[str, str], otherwise: str) -> str:
    lines = [f"    case {{{{ {column} }}}}"]
    lines += [f"        when '{key}' then {value}" for key, value in values.items()]
    lines += [f"        else {otherwise}", "    end"]
    return "\n".join(lines)


def dbt_macros() -> str:
    """The dbt macros that carry this catalogue into SQL (the text of dbt_project/macros/marketplace_catalogue.sql)."""
    zones = {key: f"'{m.time_zone}'" for key, m in BY_ID.items()}
    channels = {m.sales_channel: f"'{m.marketplace_id}'" for m in MARKETPLACES}
    includes = {key: "true" if m.price_includes_tax else "false" for key, m in BY_ID.items()}
    return "\n".join([
        "{#- GENERATED from orchestration/extract/marketplaces.py: do not edit by hand. Regenerate with",
        "    `python -m orchestration.extract.marketplaces > dbt_project/macros/marketplace_catalogue.sql`;",
        "    tests/unit/test_marketplaces.py fails when this file and the catalogue differ. -#}",
        "",
        "{#- The IANA time zone whose midnight starts the marketplace's day (UTC for an unknown marketplace). -#}",
        "{% macro marketplace_time_zone(marketplace_id_column) -%}",
        _case("marketplace_id_column", zones, f"'{FALLBACK_TIME_ZONE}'"),
        "{%- endmacro %}",
        "",
        "{#- The marketplace's id from the orders report's sales channel (`Amazon.de`); null for other channels. -#}",
        "{% macro marketplace_of_sales_channel(sales_channel_column) -%}",
        _case("sales_channel_column", channels, "null"),
        "{%- endmacro %}",
        "",
        "{#- Whether the marketplace's item prices include the tax (EU and UK VAT), so item-tax is part of",
        "    item-price; false where tax is added on top (North American sales tax) or the marketplace is unknown. -#}",
        "{% macro marketplace_price_includes_tax(marketplace_id_column) -%}",
        _case("marketplace_id_column", includes, "false"),
        "{%- endmacro %}",
        "",
    ])


if __name__ == "__main__":
    sys.stdout.write(dbt_macros())
