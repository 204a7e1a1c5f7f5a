"""`retkee report`: a seller's one-page HTML report from its marts, opened in headless Chromium.

A seller is onboarded and refreshed as `retkee refresh` does; the page is written by the real command and read
back as a browser renders it: each currency's charts are inline SVG, and the figures on the page are the mart's
own, summed here straight from fct_profit_and_loss and fct_inventory_health (not through the page's code).
The P&L mart's materialization in Dagster carries the same waterfall as an image. Bad input gets one line.
Saves the screenshot as seller-page.png in $RETKEE_SCREENSHOT_DIR if set (point it at docs/img to refresh the
picture in docs/marts.md)."""

from __future__ import annotations

import os
import subprocess  # noqa: S404 - runs our own console script
import sys
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from psycopg import sql

from tests.integration.conftest import US, settled_days, world_for
from tests.security.test_lineage_ui import CHROMIUM, CHROMIUM_FLAGS, _ensure_chromium

pytestmark = pytest.mark.integration


def _retkee(*args):
    return subprocess.run(  # noqa: S603 - our own console script, fixed argv
        [str(Path(sys.executable).with_name("retkee")), *args], capture_output=True, text=True, timeout=300)


def _query(settings, statement, params=()):
    from orchestration.defs.resources import open_session

    with open_session(settings) as session, session.conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall()


@pytest.fixture(scope="module")
def seller(pipeline_stack, onboard, instance, settings):
    from orchestration.costs.store import import_unit_costs
    from orchestration.costs.validate import parse_unit_costs
    from orchestration.defs.resources import open_session
    from orchestration.refresh import refresh

    seller, tenant = onboard("A1SELLERPAGE01", marketplaces=(US,),
                             profile={"skus": 8, "orders_per_day": 12, "refund_rate": 0.1})
    days = settled_days(4)
    # Unit costs for every SKU the seller sells, so the waterfall has its cost-of-goods step.
    items = world_for(pipeline_stack).items(seller.seller_id, datetime.combine(days[0] - timedelta(days=2), time()),
                                            datetime.combine(days[-1] + timedelta(days=2), time()))
    skus = sorted({item.sku.sku for item in items})
    costs = "sku,unit_cost,currency,valid_from\n" + "".join(
        f"{sku},{Decimal('3.25') + n},USD,{days[0] - timedelta(days=60)}\n" for n, sku in enumerate(skus))
    with open_session(settings) as session:
        import_unit_costs(session.conn, tenant.tenant_id, parse_unit_costs(costs), source_name="test.csv")
    report = refresh([tenant.tenant_id], days, instance=instance, snapshots=True)
    assert report.failed == []
    return tenant.tenant_id


@pytest.fixture(scope="module")
def page(seller, tmp_path_factory):
    out = tmp_path_factory.mktemp("seller-page") / "page.html"
    written = _retkee("report", seller, "--out", str(out))
    assert written.returncode == 0, written.stderr
    assert str(out) in written.stdout
    return out


def test_the_page_shows_the_marts_net_profit_per_currency_beside_its_charts(settings, seller, page):
    marts = sql.Identifier(f"{seller}_marts")
    (first_held, last), = _query(settings, sql.SQL(
        "select min(date_day), max(date_day) from {}.fct_profit_and_loss").format(marts))
    first = max(last - timedelta(days=29), first_held)  # the default window: the last 30 days held
    totals = _query(settings, sql.SQL(
        "select currency_code, sum(net_sales), sum(net_profit), sum(referral_fees), sum(cost_of_goods)"
        " from {}.fct_profit_and_loss"
        " where date_day between %s and %s group by 1 order by 1").format(marts), (first, last))
    assert totals and all(net_sales > 0 and cost_of_goods < 0 for _, net_sales, _, _, cost_of_goods in totals)
    at_risk = _query(settings, sql.SQL(
        "select sku, restock_quantity from {0}.fct_inventory_health where stock_out_risk"
        " and date_day = (select max(date_day) from {0}.fct_inventory_health)").format(marts))

    _ensure_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
            fetched = []
            tab.on("request", lambda request: fetched.append(request.url))
            tab.goto(page.as_uri())
            assert f"{first.isoformat()} to" in tab.locator("h1").inner_text()
            for currency, net_sales, net_profit, referral_fees, cost_of_goods in totals:
                section = tab.locator(f"#pnl-{currency}")
                assert section.locator("svg").count() == 2  # the waterfall and the days, drawn inline
                text = section.inner_text()
                for amount in (net_sales, net_profit, referral_fees, cost_of_goods):
                    assert f"{amount:,.2f}" in text, (currency, amount)
                # The waterfall's own labels are chart text (not paths): its first and last bars' amounts.
                waterfall = section.locator("svg").first.inner_html()
                assert f"{net_sales:,.2f}" in waterfall and f"{net_profit:,.2f}" in waterfall
            stock = tab.locator("#stock-out-risk").inner_text()
            for sku, restock_quantity in at_risk:
                assert sku in stock and str(restock_quantity) in stock
            assert fetched == [page.as_uri()]  # nothing but the file itself: no CDN, no script, no font
            if os.environ.get("RETKEE_SCREENSHOT_DIR"):
                tab.screenshot(path=str(Path(os.environ["RETKEE_SCREENSHOT_DIR"]) / "seller-page.png"),
                               full_page=False)
        finally:
            browser.close()


def test_the_pnl_marts_materialization_carries_the_waterfall(seller, instance):
    from dagster import AssetKey, EventRecordsFilter
    from dagster._core.events import DagsterEventType

    records = instance.get_event_records(EventRecordsFilter(
        DagsterEventType.ASSET_MATERIALIZATION, asset_key=AssetKey(["marts", "fct_profit_and_loss"]),
        asset_partitions=[seller]), limit=1)
    assert records
    metadata = records[0].asset_materialization.metadata
    said = [e.message for e in instance.all_logs(records[0].run_id) if "waterfall" in (e.message or "")]
    assert "pnl_waterfall" in metadata, said
    assert "data:image/png;base64," in metadata["pnl_waterfall"].value


@pytest.mark.parametrize("args", [
    ["report", "Tnot-a-tenant"],
    ["report", "t000000000000"],
    ["report", "{seller}", "--from", "2026-13-45"],
    ["report", "{seller}", "--from", "2026-11-20", "--to", "2026-11-01"],
    ["report", "{seller}", "--out", "/proc/nope/page.html"],
])
def test_bad_input_gets_one_error_line(seller, args):
    refused = _retkee(*(a.format(seller=seller) for a in args))
    assert refused.returncode == 1
    assert refused.stderr.startswith("error:") and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
