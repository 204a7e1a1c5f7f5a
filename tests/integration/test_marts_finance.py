"""The marts against the sandbox's truth, to the cent: revenue, refunds, fees, cost of goods and net margin per
SKU computed here in Python from `spapi_sandbox.world`, independently of the SQL; analysts' access; and the
incremental daily-sales mart equal to a full refresh."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import psycopg
import pytest
from psycopg import sql

from orchestration.extract.marketplaces import time_zone_of
from tests.integration.conftest import CA, US, settled_days, world_for
from tests.integration.money_truth import expected_column, leaf_lines, raw_transactions

pytestmark = pytest.mark.integration

CENT = Decimal("0.01")


def _query(settings, statement, params=()):
    from orchestration.defs.resources import open_session

    with open_session(settings) as session, session.conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall()


def _cost_rows(world, seller_id, days):
    """Two cost versions per SKU and currency: the second starts on the middle day (history is used)."""
    middle = days[len(days) // 2]
    rows = []
    for index, sku in enumerate(world.catalogue(seller_id)):
        for currency, base in (("USD", Decimal("3.10")), ("CAD", Decimal("4.05"))):
            rows.append((sku.sku, base + index, currency, days[0] - timedelta(days=30)))
            rows.append((sku.sku, base + index + Decimal("0.5555"), currency, middle))
    return rows


def _cost_on(costs, sku, currency, day):
    valid = [(start, cost) for s, cost, c, start in costs if s == sku and c == currency and start <= day]
    return max(valid)[1] if valid else None


FEE_COLUMNS_OF_MARGINS = {"referral_fees", "fulfilment_fees", "storage_fees", "aged_storage_fees", "inbound_fees",
                          "removal_disposal_fees", "advertising", "subscription", "coupons_deals", "other_fees"}


def _money_truth(settings, tenant, days) -> list[dict]:
    """Every transaction of the extracted UTC days, as the sandbox answers listTransactions."""
    from orchestration.defs.resources import open_session

    with open_session(settings) as session:
        connection = session.seller_connection(tenant)
    start = datetime.combine(days[0], time(), UTC)
    end = datetime.combine(days[-1] + timedelta(days=1), time(), UTC)
    return [t for m in (US, CA) for t in raw_transactions(connection, m, start, end)]


def _expected(world, seller_id, days, costs, transactions):
    start = datetime.combine(days[0], time())
    end = datetime.combine(days[-1] + timedelta(days=1), time())
    out: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for item in world.items(seller_id, start, end):
        if item.cancelled:
            continue
        row = out[(row_sku(item), item.currency)]
        row["revenue"] += item.revenue()
        row["units"] += item.quantity
    # Cost of goods is rounded per day, SKU and currency (units x unit cost of that day); sales days are the
    # marketplace's local days (Seller Central's: Pacific for US and CA).
    units_by_day: dict[tuple[str, str, object], int] = defaultdict(int)
    for item in world.items(seller_id, start, end):
        if not item.cancelled:
            local_day = item.purchase_date.astimezone(time_zone_of(item.marketplace_id)).date()
            units_by_day[(row_sku(item), item.currency, local_day)] += item.quantity
    for (sku, currency, day), units in units_by_day.items():
        unit_cost = _cost_on(costs, sku, currency, day)
        out[(sku, currency)]["cost_of_goods"] += (units * unit_cost).quantize(CENT, rounding=ROUND_HALF_UP)
    # Refunds and fees as Amazon posted them (the raw listTransactions answers, read here by Amazon's definitions):
    # every fee of the SKU (VAT on fees excluded), refunds, chargebacks and A-to-z claims, on the posting day.
    for transaction in transactions:
        currency = transaction["totalAmount"]["currencyCode"]
        for path, amount, sku in leaf_lines(transaction):
            column = expected_column(transaction["transactionType"], transaction.get("description") or "", path)
            if sku is None:
                continue  # account money is allocated in fct_profit_and_loss, not in margins
            if column in FEE_COLUMNS_OF_MARGINS:
                out[(sku, currency)]["fees"] -= amount
            elif column in ("refunds", "chargebacks_claims"):
                out[(sku, currency)]["refunds"] -= amount
    for row in out.values():
        row["net_margin"] = row["revenue"] - row["refunds"] - row["fees"] - row["cost_of_goods"]
    return out


def row_sku(item) -> str:
    return item.sku.sku


@pytest.fixture(scope="module")
def built(pipeline_stack, onboard, instance, settings):
    from orchestration.costs.store import import_unit_costs
    from orchestration.costs.validate import parse_unit_costs
    from orchestration.defs.resources import open_session

    seller, tenant = onboard("A1MARTSFINANCE1", marketplaces=(US, CA), profile={"skus": 5, "orders_per_day": 15,
                                                                               "refund_rate": 0.2})
    days = settled_days(3)
    world = world_for(pipeline_stack)
    costs = _cost_rows(world, seller.seller_id, days)
    text = "sku,unit_cost,currency,valid_from\n" + "".join(f"{s},{c},{cur},{d}\n" for s, c, cur, d in costs)
    with open_session(settings) as session:
        import_unit_costs(session.conn, tenant.tenant_id, parse_unit_costs(text), source_name="test.csv")
    report = _refresh_finance(tenant.tenant_id, days, instance)
    return seller, tenant, days, report, costs


FINANCE_DATASETS = ("orders", "finance_transactions", "settlements", "inventory_summaries")


def _refresh_finance(tenant_id, days, instance):
    """Extract only the extractions the finance marts read (whole extraction steps), then build the marts:
    the same Dagster jobs as `refresh`, with a narrower selection to keep the test quick."""
    from dagster import AssetKey, MultiPartitionKey

    from orchestration.definitions import defs
    from orchestration.defs.extraction import EXTRACTION_ASSETS
    from orchestration.defs.partitions import TENANTS
    from orchestration.refresh import RefreshReport, _record

    if tenant_id not in instance.get_dynamic_partitions(TENANTS.name):
        instance.add_dynamic_partitions(TENANTS.name, [tenant_id])
    wanted = {AssetKey(["raw", name]) for name in FINANCE_DATASETS}
    selection = [k for a in EXTRACTION_ASSETS if set(a.keys) & wanted for k in a.keys]
    report = RefreshReport()
    extract_job = defs.resolve_job_def("extract_reports")
    for day in days:
        key = MultiPartitionKey({"tenant": tenant_id, "day": day.isoformat()})
        result = extract_job.execute_in_process(
            instance=instance, partition_key=key, asset_selection=selection, raise_on_error=False
        )
        _record(report, f"{tenant_id} {day} extract", result, lambda message: None)
    result = defs.resolve_job_def("build_marts").execute_in_process(
        instance=instance, partition_key=tenant_id, raise_on_error=False
    )
    _record(report, f"{tenant_id} marts", result, lambda message: None)
    return report


def test_refresh_builds_every_mart(built):
    _, _, _, report, _ = built
    assert report.failed == []


def test_revenue_fees_refunds_and_net_margin_match_the_truth_to_the_cent(pipeline_stack, settings, built):
    seller, tenant, days, _, costs = built
    expected = _expected(world_for(pipeline_stack), seller.seller_id, days, costs,
                         _money_truth(settings, tenant, days))
    marts = sql.Identifier(f"{tenant.tenant_id}_marts")
    rows = _query(
        settings,
        sql.SQL(
            "select sku, currency_code, sum(units), sum(gross_revenue - promotions), sum(refunds), sum(amazon_fees),"
            " sum(cost_of_goods), sum(net_margin) from {}.fct_margins"
            " where date_day between %s and %s group by 1, 2"
        ).format(marts),
        # The first UTC day's first hours are the Pacific day before.
        (days[0] - timedelta(days=1), days[-1]),
    )
    got = {(r[0], r[1]): r[2:] for r in rows}
    assert set(got) == set(expected)
    for key, want in expected.items():
        units, revenue, refunds, fees, cogs, net = got[key]
        assert int(units) == want["units"], key
        assert Decimal(revenue) == want["revenue"], key
        assert Decimal(refunds) == want["refunds"], key
        assert Decimal(fees) == want["fees"], key
        assert Decimal(cogs) == want["cost_of_goods"], key
        assert Decimal(net) == want["net_margin"], key
    assert any(w["refunds"] for w in expected.values()), "the window holds refunds"


def test_every_mart_was_materialized_and_checked_in_dagster(built, instance):
    from dagster import AssetKey

    _, tenant, _, _, _ = built
    for name in ("fct_daily_sales", "fct_margins", "fct_fees", "fct_sales_trends", "fct_inventory_health",
                 "fct_settlement_reconciliation"):
        event = instance.get_latest_materialization_event(AssetKey(["marts", name]))
        assert event is not None, name
    from dagster import AssetCheckKey

    check = "unique_combination_fct_margins_date_day__sku__currency_code"
    key = AssetCheckKey(AssetKey(["marts", "fct_margins"]), check)
    records = instance.event_log_storage.get_asset_check_execution_history(key, limit=5)
    assert records and records[0].event.dagster_event.event_specific_data.passed is True


def test_materializations_carry_column_lineage_back_to_the_raw_tables(built, instance):
    """What a compliance officer follows in Dagster: a mart column to the columns it is computed from, down to
    the raw table of an SP-API report (issue #7)."""
    from dagster import AssetKey, TableColumnDep

    from orchestration.transform.column_lineage import LINEAGE_KEY

    def lineage(layer: str, name: str):
        event = instance.get_latest_materialization_event(AssetKey([layer, name]))
        assert event is not None, name
        metadata = event.asset_materialization.metadata
        assert "upstream_columns" in metadata, name
        return metadata[LINEAGE_KEY].value.deps_by_column

    margins = lineage("marts", "fct_margins")
    assert TableColumnDep(asset_key=AssetKey(["intermediate", "int_money_events_grouped_by_day"]),
                          column_name="refunds") in margins["net_margin"]
    orders = lineage("staging", "stg_amazon__orders")
    assert sorted(d.column_name for d in orders["order_date"]) == ["purchase_date", "sales_channel"]


def test_incremental_daily_sales_equal_a_full_refresh(pipeline_stack, settings, built, instance):
    from orchestration.defs.marts import dbt_environment
    from orchestration.defs.resources import open_session
    from orchestration.transform.tenant_runner import shared_runner

    _, tenant, days, _, _ = built
    # One more (earlier) day arrives: only that day is rebuilt incrementally.
    again = _refresh_finance(tenant.tenant_id, [days[0] - timedelta(days=1)], instance)
    assert again.failed == []
    table = sql.SQL("select * from {}.fct_daily_sales order by order_date, sku, currency_code").format(
        sql.Identifier(f"{tenant.tenant_id}_marts")
    )
    incremental = [r[:-1] for r in _query(settings, table)]
    with open_session(settings) as session:
        username, password = session.vault.warehouse_login()
    full = shared_runner().build(
        tenant.tenant_id, dbt_environment(tenant.tenant_id, username, password.reveal()),
        select=["fct_daily_sales"], full_refresh=True,
    )
    assert full.success, full.problems()
    assert [r[:-1] for r in _query(settings, table)] == incremental
    # len(days) + 1 UTC days extracted: their Pacific days run from the day before the first one.
    assert len({r[0] for r in incremental}) == len(days) + 2


def test_an_analyst_login_of_the_tenant_reads_every_mart_and_nothing_else(settings, built):
    from orchestration.secrets.vault import Vault
    from orchestration.serve.analyst_logins import ISSUER_DUTY, issue_login

    _, tenant, _, _, _ = built
    login = issue_login(Vault(settings.for_duty(ISSUER_DUTY)), tenant.tenant_id)  # what `retkee analysts grant` does
    conninfo = login.conninfo(settings.pg_host, settings.pg_port, settings.pg_database, str(settings.ca_file))
    with psycopg.connect(conninfo, autocommit=True) as conn:
        marts = [r[0] for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = %s",
            (f"{tenant.tenant_id}_marts",)).fetchall()]
        assert {"fct_daily_sales", "fct_margins", "fct_fees", "fct_sales_trends", "fct_inventory_health",
                "fct_settlement_reconciliation"} <= set(marts)
        for table in marts:
            conn.execute(sql.SQL("select count(*) from {}.{}").format(
                sql.Identifier(f"{tenant.tenant_id}_marts"), sql.Identifier(table))).fetchone()
        comment = conn.execute(
            "select col_description(format('%%I.fct_margins', %s::text)::regclass, 1)",
            (f"{tenant.tenant_id}_marts",)).fetchone()[0]
        assert comment and "UTC" in comment
        refused = [
            f"{tenant.tenant_id}_raw.orders", f"{tenant.tenant_id}_raw.unit_costs",
            f"{tenant.tenant_id}_staging.stg_amazon__orders", "control.tenants", "audit.access_log",
        ]
        for name in refused:
            schema, table = name.split(".")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql.SQL("select 1 from {}.{} limit 1").format(
                    sql.Identifier(schema), sql.Identifier(table)))
