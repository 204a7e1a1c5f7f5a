"""The sales marts as Seller Central counts them, against the sandbox's truth computed here in Python from
`spapi_sandbox.world` and Amazon's definitions (docs/amazon/spapi-money.md sections 5 and 6), never from the SQL:
sales on the marketplace's local day, ordered product sales and sales without VAT for a German seller, inventory
velocity and cover per marketplace, margins filled by the demo's own cost import, exchange rates by day, and a
bad exchange-rate file refused whole.

Two of the demo's sellers are onboarded and given the demo's sample files exactly as `make run` does
(local_stack/demo.py: `retkee tenants add`, `retkee fx import`, `retkee costs import`)."""

from __future__ import annotations

import math
import subprocess  # noqa: S404 - runs our own console script
import sys
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from psycopg import sql

from local_stack.demo import (
    DEMO_SELLERS,
    FX_SAMPLE,
    active_tenants,
    import_demo_samples,
    onboard_demo_sellers,
    unit_costs_sample,
)
from orchestration.costs.validate import parse_unit_costs
from orchestration.extract.marketplaces import time_zone_of
from orchestration.fx.parse import parse_ecb_rates
from tests.integration.conftest import CA, US, settled_days, world_for

pytestmark = pytest.mark.integration

DE = "A1PA6795UKMFR9"
NORTH_AMERICA = next(s for s in DEMO_SELLERS if s.marketplace_ids == (US, CA))
GERMANY = next(s for s in DEMO_SELLERS if s.marketplace_ids == (DE,))
LEAD_TIME_DAYS = 30  # the default of dbt var restock_lead_time_days


def _round(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)  # PostgreSQL's round() on numeric


def _query(settings, statement, params=()):
    from orchestration.defs.resources import open_session

    with open_session(settings) as session, session.conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall()


def _local_day(item) -> date:
    return item.purchase_date.astimezone(time_zone_of(item.marketplace_id)).date()


@pytest.fixture(scope="module")
def demo(pipeline_stack, instance):
    from orchestration.refresh import refresh

    sellers = (NORTH_AMERICA, GERMANY)
    onboard_demo_sellers(pipeline_stack, sellers)
    import_demo_samples(pipeline_stack, sellers)
    tenants = active_tenants(pipeline_stack)
    days = settled_days(3)
    # The product's refresh, as `retkee refresh` runs it: every dataset of each day, today's snapshots (so the
    # inventory is dated days after the last purchase day loaded), then the marts.
    report = refresh([tenants[s.seller_id] for s in sellers], days, instance=instance, snapshots=True)
    return {s.seller_id: tenants[s.seller_id] for s in sellers}, days, report


def _extracted_items(pipeline_stack, seller_id, days):
    start = datetime.combine(days[0], time())
    end = datetime.combine(days[-1] + timedelta(days=1), time())
    return list(world_for(pipeline_stack).items(seller_id, start, end))


def _daily_sales(settings, tenant_id):
    rows = _query(settings, sql.SQL(
        "select order_date, sku, currency_code, units, orders, ordered_product_sales, revenue, vat, net_sales"
        " from {}.fct_daily_sales").format(sql.Identifier(f"{tenant_id}_marts")))
    return {(r[0], r[1], r[2]): r[3:] for r in rows}


def test_the_demo_sellers_refresh_builds_every_mart(demo):
    _, _, report = demo
    assert report.failed == []


def test_sales_fall_on_the_pacific_day_seller_central_shows_them_on(pipeline_stack, settings, demo):
    tenants, days, _ = demo
    items = _extracted_items(pipeline_stack, NORTH_AMERICA.seller_id, days)
    want: dict[tuple, list] = defaultdict(lambda: [0, set(), Decimal(0), Decimal(0)])
    for item in items:
        row = want[(_local_day(item), item.sku.sku, item.currency)]
        if not item.cancelled:
            row[0] += item.quantity
            row[1].add(item.amazon_order_id)
            row[2] += item.item_price
            row[3] += item.revenue()
    got = _daily_sales(settings, tenants[NORTH_AMERICA.seller_id])
    assert set(got) == set(want)
    for key, (units, orders, ordered_product_sales, revenue) in want.items():
        assert got[key][:4] == (units, len(orders), ordered_product_sales, revenue), key
        assert got[key][4:] == (Decimal(0), revenue), key  # no VAT in North America: sales tax is on top
    # The boundary is exercised: an order after UTC midnight but before Pacific midnight (08:00 UTC in winter,
    # 07:00 in summer) is on the Pacific day before, as in Seller Central.
    crossing = [it for it in items if _local_day(it) != it.purchase_date.astimezone(UTC).date()]
    assert crossing and all(_local_day(it) == it.purchase_date.date() - timedelta(days=1) for it in crossing)
    assert min(day for day, _, _ in got) == days[0] - timedelta(days=1)


def test_a_german_sellers_ordered_product_sales_include_vat_and_net_sales_do_not(pipeline_stack, settings, demo):
    tenants, days, _ = demo
    want: dict[tuple, list] = defaultdict(lambda: [Decimal(0)] * 3)
    for item in _extracted_items(pipeline_stack, GERMANY.seller_id, days):
        row = want[(_local_day(item), item.sku.sku, item.currency)]
        if not item.cancelled:
            # spapi-money.md 6: item-price is VAT-inclusive and item-tax is the VAT (likewise shipping, gift wrap).
            row[0] += item.item_price
            row[1] += item.revenue()
            row[2] += item.item_tax + item.shipping_tax + item.gift_wrap_tax
    got = _daily_sales(settings, tenants[GERMANY.seller_id])
    assert set(got) == set(want)
    for key, (ordered_product_sales, revenue, vat) in want.items():
        assert got[key][2:] == (ordered_product_sales, revenue, vat, revenue - vat), key
    revenue = sum(w[1] for w in want.values())
    vat = sum(w[2] for w in want.values())
    assert Decimal("0.15") < vat / revenue < Decimal("0.17")  # 19 % German VAT is 19/119 of the price


def test_inventory_velocity_cover_and_restock_are_per_marketplace(pipeline_stack, settings, demo):
    tenants, days, _ = demo
    tenant = tenants[NORTH_AMERICA.seller_id]
    snapshots = _query(settings, sql.SQL(
        "select distinct on (marketplace_id, sku) marketplace_id, sku, snapshot_at, fulfillable_quantity,"
        " inbound_working_quantity, inbound_shipped_quantity, inbound_receiving_quantity"
        " from {}.inventory_summaries order by marketplace_id, sku, snapshot_at desc"
    ).format(sql.Identifier(f"{tenant}_raw")))
    assert {s[0] for s in snapshots} == {US, CA}
    items = _extracted_items(pipeline_stack, NORTH_AMERICA.seller_id, days)
    covered_from = datetime.combine(days[0], time(), tzinfo=UTC)
    covered_to = datetime.combine(days[-1] + timedelta(days=1), time(), tzinfo=UTC)
    got = {(r[0], r[1], r[2]): r[3:] for r in _query(settings, sql.SQL(
        "select date_day, marketplace_id, sku, units_sold_28d, sales_days_28d, daily_velocity_28d, days_of_cover,"
        " restock_quantity, stock_out_risk from {}.fct_inventory_health").format(sql.Identifier(f"{tenant}_marts")))}
    velocities: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for marketplace, sku, snapshot_at, fulfillable, working, shipped, receiving in snapshots:
        zone = time_zone_of(marketplace)
        day = snapshot_at.astimezone(zone).date()
        window_from = datetime.combine(day - timedelta(days=27), time(), tzinfo=zone)
        window_to = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
        units = sum(it.quantity for it in items if it.marketplace_id == marketplace and it.sku.sku == sku
                    and not it.cancelled and day - timedelta(days=27) <= _local_day(it) <= day)
        seconds = (min(window_to, covered_to) - max(window_from, covered_from)).total_seconds()
        sales_days = _round(Decimal(seconds) / Decimal(86400), "0.0001")
        velocity = _round(units / sales_days, "0.0001")
        cover = _round(fulfillable / velocity, "0.1") if velocity else None
        restock = max(0, math.ceil(velocity * LEAD_TIME_DAYS) - (fulfillable + working + shipped + receiving))
        at_risk = cover is not None and cover < LEAD_TIME_DAYS
        want = (units, sales_days, velocity, cover, restock, at_risk)
        assert got[(day, marketplace, sku)] == want, (marketplace, sku)
        velocities[sku][marketplace] = velocity
    assert any(v > 0 for per_marketplace in velocities.values() for v in per_marketplace.values())
    assert any(len(set(per.values())) > 1 for per in velocities.values()), "US and CA sell at their own pace"


def test_every_demo_sku_that_sold_has_a_margin_after_the_demo_cost_import(settings, demo):
    tenants, days, _ = demo
    for seller in (NORTH_AMERICA, GERMANY):
        costs = parse_unit_costs(unit_costs_sample(seller).read_text())
        rows = _query(settings, sql.SQL(
            "select date_day, sku, currency_code, unit_cost, net_margin from {}.fct_margins where units > 0"
        ).format(sql.Identifier(f"{tenants[seller.seller_id]}_marts")))
        assert rows
        for day, sku, currency, unit_cost, net_margin in rows:
            valid = [c for c in costs if c.sku == sku and c.currency == currency and c.valid_from <= day]
            assert unit_cost == max(valid, key=lambda c: c.valid_from).unit_cost, (day, sku, currency)
            assert net_margin is not None, (day, sku, currency)


def test_exchange_rates_are_the_ecb_rate_of_the_day_or_of_its_last_publication(settings, demo):
    tenants, _, _ = demo
    published: dict[date, dict[str, Decimal]] = defaultdict(dict)
    for rate in parse_ecb_rates(FX_SAMPLE.read_text()):
        published[rate.rate_date][rate.currency] = rate.rate_per_eur
    friday, saturday, not_available = date(2026, 11, 20), date(2026, 11, 21), date(2026, 3, 4)
    rows = _query(settings, sql.SQL(
        "select date_day, from_currency, to_currency, rate, rate_date, rate_missing from {}.int_fx_rates_daily"
        " where date_day = any(%s) and (from_currency, to_currency) in (('EUR', 'USD'), ('USD', 'CAD'), ('EUR', 'INR'))"
    ).format(sql.Identifier(f"{tenants[GERMANY.seller_id]}_staging")), ([friday, saturday, not_available],))
    got = {(r[0], r[1], r[2]): r[3:] for r in rows}
    usd, cad = published[friday]["USD"], published[friday]["CAD"]
    assert got[(friday, "EUR", "USD")] == (usd, friday, False)
    assert got[(friday, "USD", "CAD")] == (_round(cad / usd, "0.0000000001"), friday, False)
    assert got[(saturday, "EUR", "USD")] == (usd, friday, False)  # no ECB rate on Saturdays: Friday's, said so
    assert "INR" not in published[not_available]
    assert got[(not_available, "EUR", "INR")] == (None, not_available, True)  # N/A stays missing, flagged


def test_a_bad_exchange_rate_file_imports_nothing_and_names_the_row(pipeline_stack, settings, demo, tmp_path):
    from local_stack.settings import dagster_env

    before = _query(settings, "select count(*), max(_imported_at) from reference.fx_rates")
    rates = tmp_path / "eurofxref-hist.csv"
    rates.write_text("Date,USD,JPY,\n2030-01-03,1.0500,160.00,\n2030-01-02,1.0400,abc,\n")
    refused = subprocess.run(  # noqa: S603 - our own console script
        [str(Path(sys.executable).with_name("retkee")), "fx", "import", str(rates)],
        env=dagster_env(pipeline_stack), capture_output=True, text=True, cwd=pipeline_stack.repo_root,
    )
    assert refused.returncode == 1
    assert "line 3: JPY 'abc' is not a number or N/A" in " ".join(refused.stderr.split())  # the console wraps
    assert _query(settings, "select count(*), max(_imported_at) from reference.fx_rates") == before


def test_a_tenants_lead_time_setting_drives_its_restock_quantities(pipeline_stack, settings, demo, instance):
    from local_stack.settings import dagster_env
    from orchestration.definitions import defs

    tenants, _, _ = demo
    tenant = tenants[NORTH_AMERICA.seller_id]

    def retkee(*args):
        return subprocess.run(  # noqa: S603 - our own console script
            [str(Path(sys.executable).with_name("retkee")), *args],
            env=dagster_env(pipeline_stack), capture_output=True, text=True, cwd=pipeline_stack.repo_root,
        )

    refused = retkee("tenants", "settings", tenant, "--lead-time-days", "10", "--reporting-currency", "XYZ")
    assert refused.returncode == 1 and "reporting currency must be one of" in " ".join(refused.stderr.split())
    assert "restock_lead_time_days  30" in retkee("tenants", "settings", tenant).stdout  # nothing was changed
    changed = retkee("tenants", "settings", tenant, "--lead-time-days", "10")
    assert changed.returncode == 0, changed.stderr
    built = defs.resolve_job_def("build_marts").execute_in_process(
        instance=instance, partition_key=tenant, raise_on_error=False
    )
    assert built.success
    rows = _query(settings, sql.SQL(
        "select lead_time_days, daily_velocity_28d,"
        " fulfillable + inbound_working + inbound_shipped + inbound_receiving,"
        " days_of_cover, restock_quantity, stock_out_risk from {}.fct_inventory_health"
    ).format(sql.Identifier(f"{tenant}_marts")))
    assert rows
    for lead_time, velocity, stock, cover, restock, at_risk in rows:
        assert lead_time == 10
        assert restock == max(0, math.ceil(velocity * 10) - stock)
        assert at_risk == (cover is not None and cover < 10)
    other = _query(settings, sql.SQL("select distinct lead_time_days from {}.fct_inventory_health").format(
        sql.Identifier(f"{tenants[GERMANY.seller_id]}_marts")))
    assert other == [(LEAD_TIME_DAYS,)]  # another tenant keeps the default
