"""Infrastructure faults during extraction: after each, the warehouse equals the sandbox's truth.

PostgreSQL restarted mid-load, Vault sealed mid-run, a run's process killed mid-partition, two runs of the
same partition at once. A run that could not finish fails with a clear error; the re-run completes it;
nothing is lost, nothing duplicated.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from psycopg import sql

from tests.integration.conftest import US, settled_days, world_for

pytestmark = pytest.mark.integration

RETKEE = str(Path(sys.executable).with_name("retkee"))


def _refresh_argv(tenant_id: str, days: list) -> list[str]:
    return [RETKEE, "refresh", "--tenant", tenant_id, "--days", str(len(days)), "--end", days[-1].isoformat(),
            "--no-snapshots"]


def _warehouse_by_day(settings, tenant_id: str) -> dict[str, tuple[int, Decimal]]:
    from orchestration.defs.resources import open_session

    with open_session(settings) as session, session.conn.cursor() as cur:
        cur.execute(
            "select 1 from information_schema.tables where table_schema = %s and table_name = 'orders'",
            (f"{tenant_id}_raw",),
        )
        if cur.fetchone() is None:
            return {}
        cur.execute(
            sql.SQL(
                "select _partition, count(*), coalesce(sum(item_price), 0) from {}.orders group by _partition"
            ).format(sql.Identifier(f"{tenant_id}_raw"))
        )
        return {day: (count, Decimal(total)) for day, count, total in cur.fetchall()}


def _truth_by_day(config, seller_id: str, days: list) -> dict[str, tuple[int, Decimal]]:
    world = world_for(config)
    counts: Counter = Counter()
    money: dict[str, Decimal] = defaultdict(Decimal)
    for it in world.items(seller_id, days[0], days[-1] + timedelta(days=1)):
        day = it.purchase_date.date().isoformat()
        counts[day] += 1
        money[day] += Decimal(0) if it.cancelled else it.item_price
    return {day: (counts[day], money[day]) for day in counts}


def _assert_equals_truth(pipeline_stack, settings, seller, tenant, days):
    assert _warehouse_by_day(settings, tenant.tenant_id) == _truth_by_day(pipeline_stack, seller.seller_id, days)


def _rerun(tenant_id, days):
    done = subprocess.run(_refresh_argv(tenant_id, days), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_two_runs_of_the_same_partition_at_once_neither_lose_nor_duplicate(pipeline_stack, settings, onboard):
    seller, tenant = onboard("A1FAULTTWORUNS1", marketplaces=(US,))
    days = settled_days(1)
    runs = [subprocess.Popen(_refresh_argv(tenant.tenant_id, days), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    _assert_equals_truth(pipeline_stack, settings, seller, tenant, days)


def test_a_run_killed_mid_partition_is_completed_by_the_rerun(pipeline_stack, settings, onboard):
    seller, tenant = onboard("A1FAULTKILLED01", marketplaces=(US,))
    days = settled_days(3)
    run = subprocess.Popen(_refresh_argv(tenant.tenant_id, days), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not _warehouse_by_day(settings, tenant.tenant_id):
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    loaded = _warehouse_by_day(settings, tenant.tenant_id)
    truth = _truth_by_day(pipeline_stack, seller.seller_id, days)
    # Whatever was committed before the kill is whole: a partition is there entirely or not at all.
    assert all(loaded[day] == truth[day] for day in loaded)
    _rerun(tenant.tenant_id, days)
    _assert_equals_truth(pipeline_stack, settings, seller, tenant, days)


def test_postgres_restarted_mid_run_then_rerun_equals_truth(pipeline_stack, settings, onboard):
    from local_stack import Stack

    seller, tenant = onboard("A1FAULTPGRESTRT", marketplaces=(US,))
    days = settled_days(3)
    cluster = Stack(pipeline_stack)._postgres(install=False)
    run = subprocess.Popen(_refresh_argv(tenant.tenant_id, days), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    time.sleep(3)
    cluster.down()
    time.sleep(1)
    cluster.up()
    output = run.communicate(timeout=600)[0]
    if run.returncode != 0:
        # A clear error names what went wrong, not a bare traceback.
        assert "FAILED" in output or "error" in output.lower()
    _rerun(tenant.tenant_id, days)
    _assert_equals_truth(pipeline_stack, settings, seller, tenant, days)


def test_vault_sealed_mid_run_fails_clearly_and_rerun_equals_truth(pipeline_stack, settings, onboard):
    from local_stack.vault import OpenBaoServer

    seller, tenant = onboard("A1FAULTVAULTSL1", marketplaces=(US,))
    days = settled_days(2)
    vault = OpenBaoServer(pipeline_stack)
    vault.root_client().sys.seal()
    try:
        sealed = subprocess.run(_refresh_argv(tenant.tenant_id, days), capture_output=True, text=True, timeout=600)
    finally:
        vault.up()  # unseals from the bootstrap file
    assert sealed.returncode != 0
    assert "Vault" in sealed.stdout + sealed.stderr
    assert _warehouse_by_day(settings, tenant.tenant_id) == {}
    # Sealed while a run is under way: the run stops; the re-run completes the partitions.
    run = subprocess.Popen(_refresh_argv(tenant.tenant_id, days), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    timer = threading.Timer(2.0, lambda: vault.root_client().sys.seal())
    timer.start()
    try:
        run.wait(timeout=600)
    finally:
        timer.join()
        vault.up()
    _rerun(tenant.tenant_id, days)
    _assert_equals_truth(pipeline_stack, settings, seller, tenant, days)


def test_only_dagsters_bookkeeping_commits_without_waiting_for_the_disk(instance, settings):
    """dagster.yaml turns synchronous_commit off for Dagster's run and event storage (its events are bookkeeping;
    a crash loses at most the last fraction of a second of them); the warehouse's commits stay durable."""
    import sqlalchemy

    from orchestration.defs.resources import open_session

    engine = sqlalchemy.create_engine(instance.event_log_storage.postgres_url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as conn:
            assert conn.execute(sqlalchemy.text("show synchronous_commit")).scalar() == "off"
            assert conn.execute(sqlalchemy.text("show ssl")).scalar() == "on"
    finally:
        engine.dispose()
    with open_session(settings) as session, session.conn.cursor() as cur:
        cur.execute("show synchronous_commit")
        assert cur.fetchone()[0] == "on"


def test_a_refresh_storage_pool_survives_a_postgres_restart(pipeline_stack, instance):
    """`refresh` keeps connections to Dagster's storage between runs; a PostgreSQL restart must not hand the
    next run a dead one."""
    from local_stack import Stack
    from orchestration.instance_storage import hold_storage_connections

    hold_storage_connections(instance)
    instance.get_run_records(limit=1)  # a connection now waits in the pool
    cluster = Stack(pipeline_stack)._postgres(install=False)
    cluster.down()
    cluster.up()
    assert isinstance(instance.get_run_records(limit=1), list)


def test_the_shared_token_buckets_survive_a_postgres_restart(pipeline_stack, settings):
    """The buckets' pool lives as long as the process (a worker, the daemon); after a PostgreSQL restart every
    connection in it is dead, and a call must still get its token instead of failing its step."""
    from local_stack import Stack
    from orchestration.defs.resources import open_session
    from orchestration.extract.ratelimit import SharedQuotas

    with open_session(settings) as session:
        quotas = session.spapi_quotas()
    assert isinstance(quotas, SharedQuotas)
    quotas.acquire("A1RESTARTEDQUOTAS", "getShipments")
    idle = quotas.pool.get_stats()["pool_available"]
    assert idle >= 1  # connections wait in the pool
    cluster = Stack(pipeline_stack)._postgres(install=False)  # noqa: SLF001 - the stack's own cluster
    cluster.down()
    cluster.up()
    for _ in range(idle + 1):  # every connection the pool held has died
        quotas.acquire("A1RESTARTEDQUOTAS", "getShipments")
