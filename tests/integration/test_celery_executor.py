"""Three tenants refreshed on two Celery workers (RETKEE_EXECUTOR=celery) leave the warehouse exactly as the in-process
refresh leaves it, every step ran in a worker, and no quota was exceeded.

Two warehouses: the session's stack refreshes the sellers in this process (the reference); a stack of its own, with
Redis and two workers started by the local stack itself, refreshes the same sellers at the same time through
`retkee refresh`, as `RETKEE_EXECUTOR=celery make run` does. The sandboxes share the seed, so their sellers' data
are the same, and each table of each seller is compared by a checksum computed in SQL over its rows in both
warehouses (without the columns that record when and from which report id a row was loaded, and with the tenant
id, random per warehouse, written as `T`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from local_stack import processes
from local_stack.demo import DemoSeller, admin_request, register_seller
from local_stack.settings import dagster_env
from local_stack.throwaway import throwaway_stack
from local_stack.workers import worker_name
from tests.integration.conftest import US, settled_days

pytestmark = pytest.mark.integration

SELLERS = ("A1CELERYEQ01", "A1CELERYEQ02", "A1CELERYEQ03")
PROFILE = {"skus": 4, "orders_per_day": 8}
DAYS = settled_days(1)
WORKERS = 2
# Columns whose values say when, and under which of its sandbox's report ids, a row was loaded (`_loaded_at`,
# `_report_id`, and what models carry of them, e.g. fct_daily_sales' `source_loaded_at`): not the seller's data.
LOAD_RECORD_COLUMNS = ("%loaded_at", "%report_id")


@contextmanager
def environment_of(config) -> Iterator[None]:
    """This process's environment pointed at `config`'s stack for the block (settings are read from it)."""
    saved = dict(os.environ)
    os.environ.update(dagster_env(config, base=saved))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def warehouse_checksums(tenants: dict[str, str]) -> dict[tuple[str, str, str], tuple[int, str]]:
    """(seller, schema layer, table) -> (rows, md5 over the sorted md5s of its rows), for every relation of every
    layer of each seller's tenant."""
    from psycopg import sql

    from orchestration.session import open_session
    from orchestration.warehouse.grants import tenant_scope
    from orchestration.warehouse.schemas import LAYERS, tenant_schema

    sums = {}
    with open_session() as session:
        conn = session.conn
        for seller, tenant in tenants.items():
            with tenant_scope(conn, tenant):
                schemas = {tenant_schema(tenant, layer): layer for layer in LAYERS}
                relations = conn.execute(
                    "select table_schema, table_name from information_schema.tables where table_schema = any(%s)",
                    (list(schemas),),
                ).fetchall()
                for schema, table in relations:
                    rows, digest = conn.execute(
                        sql.SQL(
                            "select count(*), md5(coalesce(string_agg(h, ',' order by h), '')) from ("
                            " select md5(replace(coalesce((select jsonb_object_agg(key, value)"
                            "  from jsonb_each(to_jsonb(t)) where not key like any(%s))::text, ''), %s, 'T')) as h"
                            " from {}.{} t) r"
                        ).format(sql.Identifier(schema), sql.Identifier(table)),
                        (list(LOAD_RECORD_COLUMNS), tenant),
                    ).fetchone()
                    sums[(seller, schemas[schema], table)] = (rows, digest)
    return sums


def onboard_sellers(config) -> dict[str, str]:
    """Authorize SELLERS in `config`'s sandbox and onboard them there; seller id -> tenant id."""
    from orchestration.secrets.redaction import Secret
    from orchestration.secrets.vault import Vault
    from orchestration.session import open_session
    from orchestration.settings import Settings
    from orchestration.tenants.onboarding import onboard_seller

    settings = Settings.from_env()
    tenants = {}
    for seller_id in SELLERS:
        seller = DemoSeller(seller_id, "na", (US,), PROFILE)
        token = register_seller(config, seller)
        with open_session(settings) as session:
            tenants[seller_id] = onboard_seller(
                session.conn, Vault(settings.for_duty("onboarding")), seller_id=seller_id, region="na",
                marketplace_ids=[US], refresh_token=Secret(token),
            ).tenant_id
    return tenants


@pytest.fixture(scope="module")
def celery_stack(pipeline_stack) -> Iterator:
    """A stack of its own with the broker and two workers, started by the local stack as `make run` starts them."""
    with throwaway_stack("retkee-celery-test-", time_scale=0.01, executor="celery", celery_workers=WORKERS) as config:
        yield config


# Both refreshes together take minutes on a busy 2-core machine; the suite's per-test limit is meant for one.
@pytest.mark.timeout(1500)
def test_a_refresh_on_two_celery_workers_equals_the_in_process_refresh_within_every_quota(
    pipeline_stack, instance, celery_stack
):
    from dagster import DagsterEventType, DagsterInstance

    from orchestration.refresh import refresh

    config = celery_stack
    with environment_of(config):
        tenants = onboard_sellers(config)
    # The Celery refresh runs as `retkee refresh` does after `RETKEE_EXECUTOR=celery make run`, while this process
    # makes the reference in-process on the session's stack (both at once: the wall time of the slower one).
    celery_refresh = subprocess.Popen(  # noqa: S603 - our own console script
        [str(Path(sys.executable).with_name("retkee")), "refresh", "--days", str(len(DAYS)),
         "--end", DAYS[-1].isoformat(), "--no-snapshots"],
        env=dagster_env(config), cwd=config.repo_root, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        with environment_of(pipeline_stack):
            reference_tenants = onboard_sellers(pipeline_stack)
            report = refresh(list(reference_tenants.values()), DAYS, instance=instance, snapshots=False)
            assert report.failed == []
            in_process_warehouse = warehouse_checksums(reference_tenants)
        output, _ = celery_refresh.communicate(timeout=1200)
    finally:
        if celery_refresh.poll() is None:
            celery_refresh.kill()
    assert celery_refresh.returncode == 0, output[-4000:]

    with environment_of(config):
        celery_warehouse = warehouse_checksums(tenants)
        # Every step ran in a worker's pool process (its parent is a worker we started), and both workers took some.
        worker_pids = {processes.read_pid(config, worker_name(i)): worker_name(i) for i in range(1, WORKERS + 1)}
        step_pids, workers_named = set(), set()
        with DagsterInstance.get() as dagster_instance:
            runs = dagster_instance.get_runs()
            for run in runs:
                for entry in dagster_instance.all_logs(run.run_id):
                    event = entry.dagster_event
                    if event is None:
                        continue
                    if event.event_type == DagsterEventType.STEP_START:
                        step_pids.add(event.pid)
                    elif event.event_type == DagsterEventType.ENGINE_EVENT and event.engine_event_data:
                        worker = event.engine_event_data.metadata.get("Celery worker")
                        if worker is not None:
                            workers_named.add(worker.value.split("@")[0])
    assert len(runs) == len(SELLERS) * (len(DAYS) + 1)  # each tenant-day's extraction, each tenant's marts
    assert {_parent_pid(pid) for pid in step_pids} <= set(worker_pids), (step_pids, worker_pids)
    assert len(step_pids) >= WORKERS
    assert workers_named == set(worker_pids.values())

    # Same tables, same rows, for every seller; and the tables that matter are not empty.
    assert celery_warehouse == in_process_warehouse
    for seller in SELLERS:
        assert celery_warehouse[(seller, "raw", "orders")][0] > 0
        assert celery_warehouse[(seller, "marts", "fct_profit_and_loss")][0] > 0

    # The sandbox metered every call and answered none with 429 (QuotaExceeded) or a fault.
    calls = [row for row in admin_request(config, "GET", "/_sandbox/calls")["calls"] if row["seller_id"] in SELLERS]
    assert {row["seller_id"] for row in calls} == set(SELLERS)
    assert sum(row["admitted"] for row in calls) > 0
    assert [row for row in calls if row["throttled"] or row["faulted"]] == []


def _parent_pid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[1])
