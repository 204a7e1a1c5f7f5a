"""The marketplace catalogue is the one home of each marketplace's currency, sales channel, time zone and tax
rule; dbt's copy is generated from it and the sandbox must agree with it where it knows the marketplace."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from orchestration.costs import validate
from orchestration.extract import marketplaces
from spapi_sandbox import marketplaces as sandbox

MACROS = Path(__file__).resolve().parents[2] / "dbt_project" / "macros" / "marketplace_catalogue.sql"
US = "ATVPDKIKX0DER"
DE = "A1PA6795UKMFR9"


def test_dbt_macros_are_generated_from_the_catalogue_and_not_edited_by_hand():
    assert MACROS.read_text() == marketplaces.dbt_macros(), (
        "dbt_project/macros/marketplace_catalogue.sql differs from the catalogue: regenerate it with "
        "`python -m orchestration.extract.marketplaces > dbt_project/macros/marketplace_catalogue.sql`"
    )


def test_every_marketplace_has_a_known_time_zone_and_unique_id_and_sales_channel():
    for marketplace in marketplaces.MARKETPLACES:
        ZoneInfo(marketplace.time_zone)  # raises for a name the zone database does not know
    assert len(marketplaces.BY_ID) == len(marketplaces.MARKETPLACES)
    assert len({m.sales_channel for m in marketplaces.MARKETPLACES}) == len(marketplaces.MARKETPLACES)


def _local_day(moment: str, marketplace_id: str) -> dt.date:
    return dt.datetime.fromisoformat(moment).astimezone(marketplaces.time_zone_of(marketplace_id)).date()


def test_a_us_order_after_utc_midnight_belongs_to_the_pacific_day_before_in_winter_and_summer():
    # PST is UTC-8 in November, PDT UTC-7 in July: Seller Central's US day starts at 08:00 and 07:00 UTC.
    assert _local_day("2026-11-20T07:30:00+00:00", US) == dt.date(2026, 11, 19)
    assert _local_day("2026-11-20T08:00:00+00:00", US) == dt.date(2026, 11, 20)
    assert _local_day("2026-07-01T06:59:59+00:00", US) == dt.date(2026, 6, 30)
    assert _local_day("2026-07-01T07:00:00+00:00", US) == dt.date(2026, 7, 1)


def test_a_german_order_before_utc_midnight_belongs_to_the_next_berlin_day():
    assert _local_day("2026-11-19T23:30:00+00:00", DE) == dt.date(2026, 11, 20)
    assert _local_day("2026-11-19T22:59:59+00:00", DE) == dt.date(2026, 11, 19)


def test_an_unknown_marketplace_is_dated_by_its_utc_day():
    assert _local_day("2026-11-20T07:30:00+00:00", "AUNKNOWN1234") == dt.date(2026, 11, 20)


def test_the_sandbox_agrees_with_the_catalogue_on_currency_sales_channel_and_tax_inside_the_price():
    for marketplace_id, simulated in sandbox.MARKETPLACES.items():
        ours = marketplaces.BY_ID[marketplace_id]
        assert (ours.currency, ours.sales_channel) == (simulated.currency, simulated.sales_channel)
        # The sandbox puts VAT inside EU and UK prices and sales tax on top elsewhere.
        assert ours.price_includes_tax == simulated.is_eu, marketplace_id


def test_unit_costs_accept_exactly_the_marketplace_currencies():
    assert validate.CURRENCIES == marketplaces.CURRENCIES
