"""The walking skeleton end to end: sandbox orders report -> Vault -> encrypted landing -> raw -> dbt mart."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from psycopg import sql

from tests.integration.conftest import CA, US, settled_days, world_for

pytestmark = pytest.mark.integration


def _query(settings, statement, params=()):
    from orchestration.defs.resources import open_session

    with open_session(settings) as session, session.conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall()


def _truth(config, seller_id, days):
    world = world_for(config)
    start, end = days[0], days[-1] + timedelta(days=1)
    items = 0
    item_price: dict[str, Decimal] = defaultdict(Decimal)
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for it in world.items(seller_id, start, end):
        items += 1
        item_price[it.currency] += it.item_price if not it.cancelled else Decimal(0)
        revenue[it.currency] += it.revenue()
    return items, dict(item_price), dict(revenue), world.order_summary(seller_id, start, end)


@pytest.fixture(scope="module")
def refreshed(pipeline_stack, onboard, instance):
    from orchestration.refresh import refresh

    seller, tenant = onboard("A1SKELETONTEST1", marketplaces=(US, CA))
    days = settled_days(2)
    report = refresh([tenant.tenant_id], days, instance=instance)
    return seller, tenant, days, report


def test_refresh_is_one_extraction_run_over_the_days_then_the_marts(settings, refreshed, instance):
    """The days are one run (one step), yet the UI keeps a partition per day: each day of each table has its own
    materialization, with that day's row count, and its own check evaluation."""
    from dagster import AssetCheckEvaluation, AssetCheckKey, AssetKey, AssetRecordsFilter, MultiPartitionKey

    _, tenant, days, report = refreshed
    assert report.failed == []
    assert report.succeeded == [f"{tenant.tenant_id} {days[0].isoformat()}..{days[-1].isoformat()} extract",
                                f"{tenant.tenant_id} marts"]
    raw = sql.Identifier(f"{tenant.tenant_id}_raw")
    rows = dict(_query(settings, sql.SQL("select _partition, count(*) from {}.orders group by 1").format(raw)))
    runs = set()
    for day in days:
        key = MultiPartitionKey({"tenant": tenant.tenant_id, "day": day.isoformat()})
        [record] = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=AssetKey(["raw", "orders"]), asset_partitions=[str(key)]), limit=1).records
        assert record.asset_materialization.metadata["rows"].value == rows[day.isoformat()] > 0
        runs.add(record.run_id)
        evaluations = [r.event.dagster_event.event_specific_data
                       for r in instance.event_log_storage.get_asset_check_execution_history(
                           AssetCheckKey(AssetKey(["raw", "orders"]), "raw_orders_expectations"), limit=20)
                       if r.event and r.event.dagster_event]
        [check] = [e for e in evaluations if isinstance(e, AssetCheckEvaluation) and e.partition == key]
        assert check.passed and check.metadata["rows"].value == rows[day.isoformat()]
    assert len(runs) == 1


def test_orders_loaded_equal_the_sandbox_truth(pipeline_stack, settings, refreshed):
    seller, tenant, days, _ = refreshed
    summary = _truth(pipeline_stack, seller.seller_id, days)[3]
    raw = sql.Identifier(f"{tenant.tenant_id}_raw")
    rows = _query(settings, sql.SQL("select count(*) from {}.orders").format(raw))
    assert rows[0][0] == summary["order_items"] > 0
    by_currency = _query(
        settings,
        sql.SQL(
            "select currency, sum(item_price), sum(case when order_status <> 'Cancelled' then item_price"
            " - coalesce(item_promotion_discount, 0) + coalesce(shipping_price, 0)"
            " - coalesce(ship_promotion_discount, 0) + coalesce(gift_wrap_price, 0) else 0 end)"
            " from {}.orders group by currency"
        ).format(raw),
    )
    loaded = {currency: (Decimal(price or 0), Decimal(revenue)) for currency, price, revenue in by_currency}
    assert set(loaded) == set(summary["revenue"])
    for currency, revenue in summary["revenue"].items():
        assert loaded[currency][1] == Decimal(revenue), currency


def test_daily_sales_mart_matches_the_truth_to_the_cent(pipeline_stack, settings, refreshed):
    seller, tenant, days, _ = refreshed
    summary = _truth(pipeline_stack, seller.seller_id, days)[3]
    marts = sql.Identifier(f"{tenant.tenant_id}_marts")
    rows = _query(
        settings,
        sql.SQL("select currency_code, sum(revenue), sum(units) from {}.fct_daily_sales group by 1").format(marts),
    )
    mart = {currency: (Decimal(revenue), int(units)) for currency, revenue, units in rows}
    for currency, revenue in summary["revenue"].items():
        assert mart[currency][0] == Decimal(revenue), currency
    assert sum(units for _, units in mart.values()) == summary["units"]


def test_no_pii_or_plaintext_in_the_landing_zone(pipeline_stack, refreshed):
    seller, tenant, days, _ = refreshed
    world = world_for(pipeline_stack)
    order_ids = {it.amazon_order_id for it in world.items(seller.seller_id, days[0], days[-1] + timedelta(days=1))}
    files = [p for p in pipeline_stack.landing_dir.rglob("*") if p.is_file()]
    assert files, "every document is kept in the landing zone"
    for path in files:
        blob = path.read_bytes()
        assert blob.startswith(b"RTKENV1\n")
        assert not any(order_id.encode() in blob for order_id in order_ids)


def test_rerunning_a_partition_replaces_it(pipeline_stack, settings, refreshed, instance):
    from orchestration.refresh import refresh

    seller, tenant, days, _ = refreshed
    raw = sql.Identifier(f"{tenant.tenant_id}_raw")
    before = _query(settings, sql.SQL("select count(*) from {}.orders").format(raw))[0][0]
    again = refresh([tenant.tenant_id], days[-1:], instance=instance)
    assert again.failed == []
    after = _query(settings, sql.SQL("select count(*) from {}.orders").format(raw))[0][0]
    assert after == before


def test_replay_rebuilds_raw_from_the_landing_zone_alone(settings, refreshed):
    from orchestration.defs.resources import open_session
    from orchestration.load.datasets import ORDERS
    from orchestration.load.pipeline import replay_partition

    _, tenant, days, _ = refreshed
    partition = days[0].isoformat()
    raw = sql.Identifier(f"{tenant.tenant_id}_raw")
    count = sql.SQL("select count(*), sum(item_price) from {}.orders where _partition = %s").format(raw)
    before = _query(settings, count, (partition,))[0]
    with open_session(settings) as session:
        session.conn.execute(sql.SQL("delete from {}.orders where _partition = %s").format(raw), (partition,))
        session.conn.commit()
        outcome = replay_partition(
            tenant_id=tenant.tenant_id, dataset=ORDERS, partition=partition,
            vault=session.vault, landing=session.landing, conn=session.conn,
        )
    assert outcome.load.rows == before[0]
    assert _query(settings, count, (partition,))[0] == before


def test_quality_suite_ran_as_an_asset_check(refreshed, instance):
    from dagster import AssetCheckKey, AssetKey

    key = AssetCheckKey(AssetKey(["raw", "orders"]), "raw_orders_expectations")
    records = instance.event_log_storage.get_asset_check_execution_history(key, limit=10)
    assert records, "the great-expectations suite ran"
    evaluation = records[0].event.dagster_event.event_specific_data
    assert evaluation.passed is True


def test_revoked_seller_is_marked_revoked_and_nothing_more_is_extracted(
    pipeline_stack, settings, onboard, instance
):
    from local_stack.demo import admin_request
    from orchestration.defs.resources import open_session
    from orchestration.refresh import refresh

    seller, tenant = onboard("A1REVOKEDTEST01")
    admin_request(pipeline_stack, "POST", f"/_sandbox/sellers/{seller.seller_id}/revoke")
    days = settled_days(2)
    report = refresh([tenant.tenant_id], days, instance=instance)
    assert report.failed and "revoked" in report.failed[0][1]
    # The days' one run noticed the revocation; nothing more was attempted.
    assert len([label for label, _ in report.failed if "extract" in label]) == 1
    with open_session(settings) as session:
        assert session.registry.get(tenant.tenant_id).status == "revoked"
    again = refresh([tenant.tenant_id], days, instance=instance)
    assert all("not active" in reason or "is revoked" in reason for _, reason in again.failed)
    rows = _query(
        settings,
        "select count(*) from information_schema.tables where table_schema = %s",
        (f"{tenant.tenant_id}_raw",),
    )
    assert rows[0][0] == 0


def test_an_extraction_only_refresh_holds_its_storage_connections(settings, refreshed, instance):
    """`retkee refresh --no-marts`: the day's extraction runs, the marts are left alone, and Dagster's event
    storage writes its hundreds of events through a small pool, not a new TLS connection per event."""
    import os

    from dagster import AssetKey

    from orchestration.refresh import refresh

    _, tenant, days, _ = refreshed
    database = os.environ["DAGSTER_PG_DB"]
    opened = "select sessions from pg_stat_database where datname = %s"
    marts_before = instance.get_latest_materialization_event(AssetKey(["marts", "fct_daily_sales"]))
    assert marts_before is not None
    sessions_before = _query(settings, opened, (database,))[0][0]
    report = refresh([tenant.tenant_id], days[-1:], marts=False)  # its own instance, as the command line opens it
    sessions_after = _query(settings, opened, (database,))[0][0]
    assert report.failed == []
    assert report.succeeded == [f"{tenant.tenant_id} {days[-1].isoformat()} extract"]
    assert instance.get_latest_materialization_event(AssetKey(["marts", "fct_daily_sales"])) == marts_before
    runs = instance.get_run_records(limit=1)
    events = len(instance.all_logs(runs[0].dagster_run.run_id))
    assert events > 50  # each one a connection of its own without the pool
    # Measured here: about 20 with the pool (the instance's own start-up, overflow checkouts), 270 without it.
    assert sessions_after - sessions_before < 50, (sessions_after - sessions_before, events)


def test_a_refresh_writes_each_runs_planned_events_in_one_insert_and_the_ui_still_sees_every_check(
        refreshed, instance):
    """instance_storage: the marts run's planned events (one per model, one per dbt test) go in as one insert,
    yet each check still has its planned execution, then its verdict, and each model its last run."""
    import sqlalchemy
    from dagster import DagsterEventType
    from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

    from orchestration.defs.marts import tenant_models
    from orchestration.instance_storage import hold_storage_connections
    from orchestration.job_runs import run_job

    _, tenant, _, _ = refreshed
    hold_storage_connections(instance)
    inserts: list[int] = []
    notifies: list[int] = []
    check_rows_inserted: list[int] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO ASSET_CHECK_EXECUTIONS"):
            check_rows_inserted.append(1)
        if statement.lstrip().upper().startswith("INSERT INTO EVENT_LOGS"):
            inserts.append(1)
        if statement.lstrip().upper().startswith("NOTIFY"):
            notifies.append(1)

    engine = instance.event_log_storage._engine
    sqlalchemy.event.listen(engine, "before_cursor_execute", count)
    try:
        result = run_job("build_marts", instance, partition_key=tenant.tenant_id)
    finally:
        sqlalchemy.event.remove(engine, "before_cursor_execute", count)
    assert result.success
    logs = instance.all_logs(result.run_id)
    planned = [e for e in logs if e.dagster_event and e.dagster_event.event_type in (
        DagsterEventType.ASSET_MATERIALIZATION_PLANNED, DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED)]
    assert len(planned) == len(tenant_models.keys) + len(tenant_models.check_keys) > 50
    assert len(inserts) == len(logs) - len(planned) + 1  # every other event is one insert; the planned ones, one
    assert notifies == []  # no NOTIFY after each event (only older webservers listened for it)
    # The planned executions in one insert, and each verdict found its planned row (Dagster inserts a verdict
    # whose planned row it cannot find).
    assert len(check_rows_inserted) == 1
    storage = instance.event_log_storage
    for key in tenant_models.check_keys:
        [execution] = storage.get_asset_check_execution_history(key, limit=1)
        assert execution.run_id == result.run_id
        assert execution.status in (AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED)
    records = storage.get_asset_records(list(tenant_models.keys))
    assert {record.asset_entry.last_run_id for record in records} == {result.run_id}
