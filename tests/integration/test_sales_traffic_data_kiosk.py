"""Sales and traffic through Data Kiosk (the default) land what the report lands, and what the world sold.

One seller in two marketplaces, a settled day. Its orders and sales and traffic are extracted with the
default source (Data Kiosk, pages of five records, so the by-SKU pages paginate), the marts are built;
then sales and traffic are extracted again with RETKEE_SALES_TRAFFIC_SOURCE=report and the marts rebuilt.
The raw rows of both paths are equal, they equal the world's own orders (units and item price per
marketplace and day, from the truth, not from the pipeline), and the sales-trend mart is unchanged.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from psycopg import sql

from tests.integration.conftest import CA, US, settled_days, world_for
from tests.integration.marts_builds import _query

pytestmark = pytest.mark.integration

RAW = {"sales_traffic_by_date": "marketplace_id, date", "sales_traffic_by_sku": "marketplace_id, date, sku"}
LOAD_LINEAGE = ("_report_id", "line_number", "_loaded_at")  # which documents and when: differs by path


def _rows(settings, tenant_id: str, table: str) -> list[tuple]:
    columns = [c for c in _columns(settings, tenant_id, table) if c not in LOAD_LINEAGE]
    return _query(settings, sql.SQL("select {} from {}.{} order by {}").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(f"{tenant_id}_raw"), sql.Identifier(table),
        sql.SQL(RAW[table])))


def _columns(settings, tenant_id: str, table: str) -> list[str]:
    return [name for (name,) in _query(
        settings, "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
        "order by ordinal_position", (f"{tenant_id}_raw", table))]


def _trends(settings, tenant_id: str) -> list[tuple]:
    """Every column but source_loaded_at (when the rows under it were loaded: a bookkeeping column of the
    incremental build, different for each path by construction)."""
    rows = _query(settings, sql.SQL("select to_jsonb(t) - 'source_loaded_at' from {}.fct_sales_trends t"
                                    " order by grain, date_day, sku, currency_code")
                  .format(sql.Identifier(f"{tenant_id}_marts")))
    assert rows and "date_day" in rows[0][0]
    return rows


def _build_sales_trends(instance, tenant_id: str) -> None:
    """fct_sales_trends and the models under it (not the whole project: the other marts do not read traffic)."""
    from dagster import AssetKey, AssetSelection

    from orchestration.definitions import defs

    trends = AssetKey(["marts", "fct_sales_trends"])
    models = [k for k in AssetSelection.assets(trends).upstream().resolve(defs.resolve_asset_graph())
              if k.path[0] != "raw"]
    result = defs.resolve_job_def("build_marts").execute_in_process(
        instance=instance, partition_key=tenant_id, raise_on_error=False, asset_selection=models)
    assert trends in {e.asset_key for e in result.get_asset_materialization_events()}


def _traffic_days(settings, tenant_id: str) -> set:
    return {day for (day,) in _query(settings, sql.SQL(
        "select distinct date_day from {}.fct_sales_trends where sessions > 0").format(
        sql.Identifier(f"{tenant_id}_marts")))}


def _calls(config, seller_id: str) -> dict[str, int]:
    from local_stack.demo import admin_request

    rows = admin_request(config, "GET", f"/_sandbox/calls?seller_id={seller_id}")["calls"]
    return {row["operation"]: row["admitted"] for row in rows}


def _extract(settings, tenant_id, days, names):
    """The extractions' own entry point (what a backfill runs), for the days: no Dagster run around it."""
    from orchestration.defs.resources import open_session
    from orchestration.extract.catalogue import EXTRACTIONS
    from orchestration.load.backfill import ingest_extractions, tenant_connections

    with open_session(settings) as session:
        tenant = session.registry.get(tenant_id)
        results = ingest_extractions(
            tenant=tenant, extractions=[EXTRACTIONS[n] for n in names], first_day=days[0], last_day=days[-1],
            vault=session.vault, seller=session.seller_connection(tenant), landing=session.landing,
            connect=tenant_connections(settings, session.vault, tenant_id))
    assert {r.extraction: r.error for r in results if r.error} == {}


@pytest.fixture(scope="module")
def both_paths(pipeline_stack, settings, onboard, instance):
    seller, tenant = onboard("A1DATAKIOSKTEST", marketplaces=(US, CA),
                             profile={"skus": 6, "orders_per_day": 12, "data_kiosk_records_per_document": 5})
    instance.add_dynamic_partitions("tenants", [tenant.tenant_id])
    days = settled_days(1)
    mp = pytest.MonkeyPatch()
    try:
        mp.delenv("RETKEE_SALES_TRAFFIC_SOURCE", raising=False)
        _extract(settings, tenant.tenant_id, days, ["orders", "sales_traffic"])
        kiosk_calls = _calls(pipeline_stack, seller.seller_id)
        kiosk = {t: _rows(settings, tenant.tenant_id, t) for t in RAW}
        _build_sales_trends(instance, tenant.tenant_id)
        kiosk_trends = _trends(settings, tenant.tenant_id)
        traffic_days = _traffic_days(settings, tenant.tenant_id)
        mp.setenv("RETKEE_SALES_TRAFFIC_SOURCE", "report")
        _extract(settings, tenant.tenant_id, days, ["sales_traffic"])
        report_calls = _calls(pipeline_stack, seller.seller_id)
        report = {t: _rows(settings, tenant.tenant_id, t) for t in RAW}
        _build_sales_trends(instance, tenant.tenant_id)
        report_trends = _trends(settings, tenant.tenant_id)
    finally:
        mp.undo()
    return (seller, tenant, days, (kiosk, kiosk_calls, kiosk_trends), (report, report_calls, report_trends),
            traffic_days)


def test_data_kiosk_is_the_default_and_pages_the_by_sku_records(both_paths):
    _, tenant, days, (kiosk, calls, _), _, _ = both_paths
    # A day: one by-date query for both marketplaces, and 2 x 6 SKU records in pages of 5: three queries.
    assert calls["createQuery"] == len(days) * (1 + 3)
    assert calls["getDocument"] == calls["createQuery"]
    assert len(kiosk["sales_traffic_by_date"]) == len(days) * len(tenant.marketplace_ids)
    assert len(kiosk["sales_traffic_by_sku"]) == len(days) * len(tenant.marketplace_ids) * 6


def test_data_kiosk_rows_equal_the_report_rows(both_paths):
    _, _, _, (kiosk, kiosk_calls, _), (report, report_calls, _), _ = both_paths
    assert report_calls["createQuery"] == kiosk_calls["createQuery"]  # the second pass asked the report only
    assert report_calls["createReport"] > kiosk_calls["createReport"]
    for table in RAW:
        assert kiosk[table] == report[table], table


def test_data_kiosk_rows_equal_the_worlds_orders(pipeline_stack, settings, both_paths):
    seller, tenant, days, (kiosk, _, _), _, _ = both_paths
    world = world_for(pipeline_stack)
    columns = {t: _columns(settings, tenant.tenant_id, t) for t in RAW}
    by_date = [dict(zip([c for c in columns["sales_traffic_by_date"] if c not in LOAD_LINEAGE],
                        row, strict=True)) for row in kiosk["sales_traffic_by_date"]]
    by_sku = [dict(zip([c for c in columns["sales_traffic_by_sku"] if c not in LOAD_LINEAGE],
                       row, strict=True)) for row in kiosk["sales_traffic_by_sku"]]
    for day in days:
        for marketplace_id in tenant.marketplace_ids:
            truth = world.order_summary(seller.seller_id, day, day + timedelta(days=1), [marketplace_id])
            (currency, price), = truth["item_price"].items()
            (row,) = [r for r in by_date if r["date"] == day and r["marketplace_id"] == marketplace_id]
            assert (row["units_ordered"], row["currency"], row["ordered_product_sales"]) == (
                truth["units"], currency, Decimal(price))
            skus = [r for r in by_sku if r["date"] == day and r["marketplace_id"] == marketplace_id]
            assert sum(r["units_ordered"] for r in skus) == truth["units"] > 0
            assert sum(r["ordered_product_sales"] for r in skus) == Decimal(price)
            assert row["sessions"] >= row["units_ordered"]


def test_the_sales_trend_mart_is_unchanged_between_the_paths(both_paths):
    _, _, days, (_, _, kiosk_trends), (_, _, report_trends), traffic_days = both_paths
    assert set(days) <= traffic_days  # the mart really carries the traffic of the extracted days
    assert kiosk_trends == report_trends
