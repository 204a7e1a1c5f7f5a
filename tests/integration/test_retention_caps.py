"""Amazon's retention caps on the real stack: data older than its dataset's cap is removed with its landed
documents and recorded once (even when a removal dies half way), what is inside the cap stays byte-identical,
the neighbour tenant is untouched, the cap check turns red on planted old data, marts stop showing removed
days on their next build, and the logs keep 12 months."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from dateutil.relativedelta import relativedelta
from psycopg import sql

from tests.integration.conftest import settled_days
from tests.integration.test_erasure_end_to_end import admin_connect, tenant_fingerprint

pytestmark = pytest.mark.integration

AGED = "A1RETAINAGED001"
NEIGHBOUR = "A1RETAINNEXT001"


class Killed(RuntimeError):
    pass


def _oldest_day_kept(today):
    """Computed here from the rule (18 calendar months before today), not by the code under test."""
    return today - relativedelta(months=18)


def _partition_digest(config, tenant_id: str, layer: str, table: str, day) -> tuple[str, int]:
    with admin_connect(config, "warehouse") as conn:
        return conn.execute(sql.SQL(
            "select md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')), count(*) from {}.{} t"
            " where _partition = %s").format(sql.Identifier(f"{tenant_id}_{layer}"), sql.Identifier(table)),
            (day.isoformat(),)).fetchone()


def _plant_orders(config, tenant_id: str, source_day, target_day) -> int:
    """Copy one loaded orders partition to another day, as the loader would have written it then: dates moved
    by the same offset, order ids made distinct; returns the rows written."""
    shift = source_day - target_day
    with admin_connect(config, "warehouse") as conn:
        columns = [row[0] for row in conn.execute(
            "select column_name from information_schema.columns where table_schema = %s and table_name = 'orders'"
            " and column_name <> '_loaded_at' order by ordinal_position", (f"{tenant_id}_raw",)).fetchall()]
        moved = {
            "amazon_order_id": sql.SQL("'OLD-' || {} || '-' || amazon_order_id").format(
                sql.Literal(target_day.isoformat())),
            "purchase_date": sql.SQL("purchase_date - {}::interval").format(sql.Literal(f"{shift.days} days")),
            "last_updated_date": sql.SQL("last_updated_date - {}::interval").format(sql.Literal(f"{shift.days} days")),
            "_partition": sql.Literal(target_day.isoformat()),
        }
        select = sql.SQL(", ").join(moved.get(c, sql.Identifier(c)) for c in columns)
        table = sql.SQL("{}.orders").format(sql.Identifier(f"{tenant_id}_raw"))
        cursor = conn.execute(sql.SQL("insert into {} ({}) select {} from {} where _partition = %s").format(
            table, sql.SQL(", ").join(sql.Identifier(c) for c in columns), select, table), (source_day.isoformat(),))
        conn.execute(sql.SQL("insert into {}.orders (_partition, line_number, reason) values (%s, 1, %s)").format(
            sql.Identifier(f"{tenant_id}_quarantine")), (target_day.isoformat(), "planted for the retention test"))
        return cursor.rowcount


def _plant_documents(config, tenant_id: str, source_day, target_day) -> int:
    source = config.landing_dir / tenant_id / "orders" / source_day.isoformat()
    target = config.landing_dir / tenant_id / "orders" / target_day.isoformat()
    target.mkdir(parents=True, exist_ok=True)
    copied = 0
    for path in sorted(source.glob("*.env")):
        shutil.copy2(path, target / path.name)
        copied += 1
    return copied


def _files(root) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()} if root.exists() else {}


def _check_evaluations(instance) -> dict[str, object]:
    from orchestration.definitions import defs

    result = defs.resolve_job_def("check_retention_caps").execute_in_process(instance=instance, raise_on_error=False)
    assert result.success
    return {e.asset_key.path[-1]: e for e in result.get_asset_check_evaluations()}


def _mart_order_dates(config, tenant_id: str):
    with admin_connect(config, "warehouse") as conn:
        if not conn.execute("select to_regclass(%s) is not null", (f'"{tenant_id}_marts"."fct_daily_sales"',)
                            ).fetchone()[0]:
            return None
        return sorted({row[0] for row in conn.execute(sql.SQL("select order_date from {}.fct_daily_sales").format(
            sql.Identifier(f"{tenant_id}_marts"))).fetchall()})


def _build_marts(instance, tenant_id: str) -> None:
    """fct_daily_sales and the models it is built from: the mart this test is about, without the rest of the
    project (whose own tests have nothing to do with retention)."""
    from dagster import AssetKey

    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    wanted, pending = set(), [AssetKey(["marts", "fct_daily_sales"])]
    while pending:
        key = pending.pop()
        if key in wanted or key.path[0] == "raw" or not graph.has(key) or not graph.get(key).is_materializable:
            continue
        wanted.add(key)
        pending.extend(graph.get(key).parent_keys)
    result = defs.resolve_job_def("build_marts").execute_in_process(
        instance=instance, partition_key=tenant_id, asset_selection=sorted(wanted, key=str), raise_on_error=False)
    assert result.success


@pytest.fixture(scope="module")
def aged(pipeline_stack, settings, onboard, instance):
    from dagster import AssetKey, AssetMaterialization

    from orchestration.defs.marts import manifest_json
    from orchestration.defs.resources import open_session
    from orchestration.defs.retention import DagsterPartitionRecords, incremental_marts
    from orchestration.load.datasets import ORDERS
    from orchestration.refresh import refresh
    from orchestration.retain.age import RemovalTools, remove_expired
    from orchestration.retain.caps import age_caps

    day = settled_days(1)[0]
    _, tenant = onboard(AGED, profile={"skus": 6, "orders_per_day": 12})
    _, neighbour = onboard(NEIGHBOUR, profile={"skus": 6, "orders_per_day": 12})
    first = refresh([tenant.tenant_id, neighbour.tenant_id], [day], instance=instance, marts=False)
    assert first.failed == [], first.failed
    for built in (tenant, neighbour):
        _build_marts(instance, built.tenant_id)

    today = datetime.now(UTC).date()
    kept_from = _oldest_day_kept(today)
    far, near = kept_from - timedelta(days=10), kept_from - timedelta(days=1)
    planted_rows = {d: _plant_orders(pipeline_stack, tenant.tenant_id, day, d) for d in (far, near, kept_from)}
    planted_documents = {d: _plant_documents(pipeline_stack, tenant.tenant_id, day, d) for d in (far, near, kept_from)}
    assert all(planted_rows.values()) and all(planted_documents.values())
    # Dagster knew the old partitions too (materialized when they were young).
    old_keys = [f"{d.isoformat()}|{tenant.tenant_id}" for d in (far, near)]
    for key in old_keys:
        instance.report_runless_asset_event(AssetMaterialization(asset_key=AssetKey(["raw", "orders"]), partition=key))
    _build_marts(instance, tenant.tenant_id)
    mart_before = _mart_order_dates(pipeline_stack, tenant.tenant_id)

    inside = {d: _partition_digest(pipeline_stack, tenant.tenant_id, "raw", "orders", d) for d in (kept_from, day)}
    inside_files = {d: _files(pipeline_stack.landing_dir / tenant.tenant_id / "orders" / d.isoformat())
                    for d in (kept_from, day)}
    neighbour_before = tenant_fingerprint(pipeline_stack, neighbour.tenant_id)
    check_before = _check_evaluations(instance)
    report_before = _compliance_report(pipeline_stack)

    # A removal killed after the documents went and before the rows: nothing recorded, the plan kept.
    def kill(step, dataset):
        if step == "delete_documents":
            raise Killed(dataset)

    with open_session(settings) as session:
        tools = RemovalTools(conn=session.conn, landing=session.landing, partitions=DagsterPartitionRecords(instance),
                             run_id="killed-attempt", incremental_marts=incremental_marts(manifest_json()),
                             on_step_done=kill)
        with pytest.raises(Killed):
            remove_expired(tools, tenant.tenant_id, today, age_caps(), datasets=[ORDERS])
    after_kill = {
        "rows_far": _partition_digest(pipeline_stack, tenant.tenant_id, "raw", "orders", far)[1],
        "documents_far": _files(pipeline_stack.landing_dir / tenant.tenant_id / "orders" / far.isoformat()),
        "records": _records(pipeline_stack, tenant.tenant_id),
    }

    from orchestration.definitions import defs

    run = defs.resolve_job_def("apply_retention_caps").execute_in_process(instance=instance, raise_on_error=False)
    report_after = _compliance_report(pipeline_stack)
    return {
        "report_before": report_before, "report_after": report_after,
        "tenant": tenant, "neighbour": neighbour, "day": day, "far": far, "near": near, "kept_from": kept_from,
        "planted_rows": planted_rows, "planted_documents": planted_documents, "old_keys": old_keys,
        "inside": inside, "inside_files": inside_files, "neighbour_before": neighbour_before,
        "check_before": check_before, "after_kill": after_kill, "run": run, "mart_before": mart_before,
    }


def _compliance_report(config) -> tuple[str, str]:
    """`retkee compliance report`: what it prints, and the HTML page it writes."""
    from typer.testing import CliRunner

    from orchestration.cli import app

    output = config.data_dir / "retention-report.html"
    result = CliRunner().invoke(app, ["compliance", "report", "--output", str(output)])
    assert result.exit_code == 0, result.output
    return result.output, output.read_text()


def _records(config, tenant_id: str) -> list[dict]:
    with admin_connect(config, "warehouse") as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute("select * from audit.retention_removals where tenant_id = %s order by removal_id", (tenant_id,))
        return cur.fetchall()


def test_the_cap_check_is_red_on_planted_old_data_of_that_tenant_only(aged):
    orders = aged["check_before"]["orders"]
    assert not orders.passed
    past = orders.metadata["tenants_past_cap"].value
    assert aged["tenant"].tenant_id in past and aged["neighbour"].tenant_id not in past
    assert aged["far"].isoformat() in past
    assert aged["check_before"]["listings"].passed


def test_a_removal_killed_half_way_recorded_nothing_and_kept_its_rows(aged):
    killed = aged["after_kill"]
    assert killed["records"] == []
    assert killed["rows_far"] == aged["planted_rows"][aged["far"]]  # the rows wait for the transaction
    assert killed["documents_far"] == {}  # the documents went first


def _failures(result) -> list[str]:
    return [str(e.step_failure_data.user_failure_data.description if e.step_failure_data.user_failure_data
                else e.step_failure_data.error.to_string()) for e in result.all_events if e.is_step_failure]


def test_partitions_older_than_the_cap_are_removed_and_recorded_once(pipeline_stack, aged):
    assert aged["run"].success, _failures(aged["run"])
    tenant_id, far, near = aged["tenant"].tenant_id, aged["far"], aged["near"]
    with admin_connect(pipeline_stack, "warehouse") as conn:
        for layer in ("raw", "quarantine"):
            left = conn.execute(sql.SQL("select count(*) from {}.orders where _partition < %s").format(
                sql.Identifier(f"{tenant_id}_{layer}")), (aged["kept_from"].isoformat(),)).fetchone()[0]
            assert left == 0, layer
    for d in (far, near):
        assert not (pipeline_stack.landing_dir / tenant_id / "orders" / d.isoformat()).exists() or \
            _files(pipeline_stack.landing_dir / tenant_id / "orders" / d.isoformat()) == {}
    records = [r for r in _records(pipeline_stack, tenant_id) if r["dataset"] == "orders"]
    assert len(records) == 1
    record = records[0]
    assert (record["first_day"], record["last_day"], record["oldest_day_kept"]) == (far, near, aged["kept_from"])
    assert record["rows_removed"] == aged["planted_rows"][far] + aged["planted_rows"][near]
    assert record["quarantine_rows_removed"] == 2
    # The killed attempt deleted the documents; the record still counts them, from the plan it kept.
    assert record["documents_removed"] == aged["planted_documents"][far] + aged["planted_documents"][near]
    assert record["cap_months"] == 18 and record["legal_basis"] is None
    assert record["dagster_partitions"] == 2 and record["marts_dropped"] == ["fct_daily_sales"]
    assert record["run_id"] == aged["run"].run_id
    assert {r["dataset"] for r in _records(pipeline_stack, tenant_id)} == {"orders"}


def test_what_is_inside_the_cap_stays_byte_identical(pipeline_stack, aged):
    tenant_id = aged["tenant"].tenant_id
    for d, digest in aged["inside"].items():
        assert _partition_digest(pipeline_stack, tenant_id, "raw", "orders", d) == digest
        assert _files(pipeline_stack.landing_dir / tenant_id / "orders" / d.isoformat()) == aged["inside_files"][d]


def test_removing_old_data_never_touches_another_tenant(pipeline_stack, aged):
    assert tenant_fingerprint(pipeline_stack, aged["neighbour"].tenant_id) == aged["neighbour_before"]
    assert _records(pipeline_stack, aged["neighbour"].tenant_id) == []


def test_dagster_records_the_removed_partitions(instance, aged):
    from dagster import AssetKey

    observations = instance.fetch_observations(AssetKey(["raw", "orders"]), limit=200).records
    removed = {o.partition_key for o in observations
               if o.asset_observation and o.asset_observation.metadata.get("removed_by")
               and o.asset_observation.metadata["removed_by"].value == "retention"}
    assert set(aged["old_keys"]) <= removed


def test_the_cap_check_passes_once_old_data_is_gone(instance, aged):
    evaluations = _check_evaluations(instance)
    assert all(e.passed for e in evaluations.values()), {k: e.metadata for k, e in evaluations.items() if not e.passed}


def test_marts_stop_showing_removed_days_on_their_next_build(pipeline_stack, instance, aged):
    tenant_id, far = aged["tenant"].tenant_id, aged["far"]
    assert aged["mart_before"] and aged["mart_before"][0] <= far  # the old days were shown
    assert _mart_order_dates(pipeline_stack, tenant_id) is None  # dropped with the rows: the next build is full
    _build_marts(instance, tenant_id)
    after = _mart_order_dates(pipeline_stack, tenant_id)
    # Local days may sit one day before the UTC partition day.
    assert after and after[0] >= aged["kept_from"] - timedelta(days=1)
    assert aged["day"] in after or aged["day"] - timedelta(days=1) in after


def test_the_access_log_and_retention_records_keep_12_months(pipeline_stack, settings, aged):
    from orchestration.defs.resources import open_session
    from orchestration.defs.retention import prune_logs
    from orchestration.retain.policy import log_retention_months

    now = datetime.now(UTC)
    ages = {"log-11-months": relativedelta(months=11), "log-12-months-less-a-day": relativedelta(months=12, days=-1),
            "log-12-and-a-half-months": relativedelta(months=12, days=15), "log-14-months": relativedelta(months=14)}
    with admin_connect(pipeline_stack, "warehouse") as conn:
        for run_id, age in ages.items():
            conn.execute("insert into audit.access_log (run_id, job_name, db_role, vault_duty, status, started_at,"
                         " ended_at) values (%s, 'planted', 'pipeline', 'pipeline', 'SUCCESS', %s, %s)",
                         (run_id, now - age - timedelta(minutes=5), now - age))
        conn.execute("insert into audit.retention_removals (tenant_id, dataset, first_day, last_day, oldest_day_kept,"
                     " cap_months, cap_source, rows_removed, quarantine_rows_removed, documents_removed,"
                     " dagster_partitions, run_id, removed_at) values ('t000000000000', 'orders', '2024-01-01',"
                     " '2024-01-01', '2024-01-02', 18, 'catalogue', 1, 0, 0, 0, 'planted', %s)",
                     (now - relativedelta(months=14),))
    with open_session(settings) as session:
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            prune_logs(session.conn, 11)
        session.conn.rollback()
        pruned = prune_logs(session.conn, log_retention_months({}))
    assert pruned["access_log"] >= 1 and pruned["retention_removals"] >= 1
    with admin_connect(pipeline_stack, "warehouse") as conn:
        left = {row[0] for row in conn.execute("select run_id from audit.access_log where job_name = 'planted'")}
        planted_records = conn.execute("select count(*) from audit.retention_removals where run_id = 'planted'"
                                       ).fetchone()[0]
    assert left == {"log-11-months", "log-12-months-less-a-day", "log-12-and-a-half-months"}
    assert planted_records == 0


def test_the_pipeline_cannot_rewrite_the_retention_records_itself(settings, aged):
    from orchestration.defs.resources import open_session

    statements = ("delete from audit.retention_removals", "update audit.retention_removals set rows_removed = 0",
                  "truncate audit.retention_removals", "drop table audit.retention_removals")
    with open_session(settings) as session:
        for statement in statements:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                session.conn.execute(statement)
            session.conn.rollback()


def test_the_compliance_report_shows_the_oldest_day_held_against_its_cap_in_red(aged):
    tenant_id, neighbour_id, far = aged["tenant"].tenant_id, aged["neighbour"].tenant_id, aged["far"].isoformat()
    printed, page = aged["report_before"]
    assert "hold data older than the cap" in printed
    row = next(line for line in printed.splitlines() if tenant_id in line and " orders " in line)
    assert far in row and "18" in row and "none" in row
    red = [r for r in page.split("<tr") if r.startswith(" class='bad'")]
    assert any(tenant_id in r and "<td>orders</td>" in r and far in r for r in red)
    assert not any(neighbour_id in r for r in red)
    printed_after, page_after = aged["report_after"]
    assert "every dataset is within its cap" in printed_after
    assert not [r for r in page_after.split("<tr") if r.startswith(" class='bad'")]
    assert f"<td>{tenant_id}</td><td>orders</td><td>{far}</td>" in page_after


def test_a_removal_that_dropped_marts_launches_that_tenants_marts_build_once(instance, aged):
    from dagster import SensorResult, build_sensor_context

    from orchestration.defs.resources import code_location_resources
    from orchestration.defs.retention import rebuild_marts_after_retention

    with build_sensor_context(instance=instance, resources=code_location_resources()) as context:
        result = rebuild_marts_after_retention(context)
    assert isinstance(result, SensorResult)
    assert [r.partition_key for r in result.run_requests] == [aged["tenant"].tenant_id]
    with build_sensor_context(instance=instance, cursor=result.cursor, resources=code_location_resources()) as later:
        again = rebuild_marts_after_retention(later)
    assert not isinstance(again, SensorResult) or not again.run_requests
