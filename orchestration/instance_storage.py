"""Dagster's storage, tuned for a process that runs many runs itself (a refresh): fewer round trips per event.

Dagster's PostgreSQL storage opens a new connection for every event it writes unless told it lives in a
long-running process; a refresh writes hundreds of events per tenant, so it holds a small pool instead
(`hold_storage_connections`), and keeps that pool's round trips per event down:
- a connection's liveness is read from its socket, not asked with `select 1`;
- the storage's catalogue questions ("does this table exist", "does the asset table have this column") are asked
  once per table and column: migrations only add them, so a yes holds for the storage's life (a no is asked again);
- whether a tenant's partition exists is asked once per run (`forget_partitions` between runs), not at each of the
  ~70 places a run's events and inputs look at its partition range; a partition this process deletes (an
  erasure) is forgotten at once, one another process deletes is seen by the next run;
- an event is written without the NOTIFY Dagster's PostgreSQL storage sends after each one: Dagster keeps it only
  for webservers of older versions ("LISTEN/NOTIFY no longer used for pg event watch"); every process of ours runs
  this version and watches runs by polling. The write is Dagster's own SQL storage's, the same insert and index
  updates;
- the planned events a run writes as it is created (one per asset and per check: ~120 per tenant) go in as one
  insert, then their index updates, instead of one write each (Dagster hands them over as a batch when
  DAGSTER_EVENT_BATCH_SIZE is set; its PostgreSQL storage writes a batch in bulk only when it holds nothing but
  materializations).
"""

from __future__ import annotations

import os
import types
import weakref
from collections.abc import Callable, Sequence

from dagster import DagsterEventType, DagsterInstance
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, SqlEventLogStorageTable
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage
from dagster._serdes import serialize_value
from dagster_postgres import PostgresEventLogStorage
from sqlalchemy import event as pool_events
from sqlalchemy import exc
from sqlalchemy.pool import QueuePool

from orchestration.warehouse.liveness import is_gone

# Pool settings in the shape dagster-webserver uses for the same storage (it bounds statements at 15 s;
# a refresh allows a minute), connections recycled hourly.
STORAGE_STATEMENT_TIMEOUT_MS = 60_000
STORAGE_POOL_RECYCLE_S = 3600
STORAGE_MAX_OVERFLOW = 10
_POOLED_INSTANCES: weakref.WeakSet[DagsterInstance] = weakref.WeakSet()
# What the storages' catalogue questions are called (Dagster's SqlEventLogStorage and the run and schedule
# storages); a name a Dagster version lacks is left alone.
CATALOGUE_QUESTIONS = ("has_table", "_has_asset_key_col_on_connection")
# Dagster buffers a batch's events up to this many before handing them to the storage (a run's planned events
# come as one batch; so do a backfill's materializations of one table over many days).
EVENT_BATCH_SIZE = "500"
PLANNED = {DagsterEventType.ASSET_MATERIALIZATION_PLANNED, DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED}


def _alive_on_checkout(dbapi_connection, connection_record, connection_proxy) -> None:
    """A pessimistic disconnect check at no round trip: a pooled connection the server has closed is replaced
    before use instead of failing the run that drew it (SQLAlchemy's pre-ping would ask `select 1` at every
    checkout, about a thousand round trips per tenant). A restart can take under a second, so the check is made
    at every checkout, however recently the connection was used (tests/integration/test_faults_infra.py)."""
    try:
        dead = is_gone(dbapi_connection)
    except Exception as error:  # noqa: BLE001 - a connection whose socket cannot even be looked at is gone
        raise exc.DisconnectionError(str(error)) from error
    if dead:
        raise exc.DisconnectionError("the server closed this pooled connection")


class YesKept:
    """`asked`, answering a question again only until it has said yes. `skip` leading arguments (a connection)
    are not part of the question."""

    def __init__(self, asked: Callable[..., bool], skip: int = 0) -> None:
        self._asked, self._skip = asked, skip
        self._yes: set[tuple] = set()

    def __call__(self, *args, **kwargs) -> bool:
        question = (*args[self._skip:], *sorted(kwargs.items()))
        if question in self._yes:
            return True
        if self._asked(*args, **kwargs):
            self._yes.add(question)
            return True
        return False

    def forget(self) -> None:
        self._yes.clear()


def _keep_yes_answers(storage) -> None:
    """Each of `storage`'s catalogue questions keeps its yes answers."""
    for name in CATALOGUE_QUESTIONS:
        asked = getattr(storage, name, None)
        if asked is None or isinstance(asked, YesKept):
            continue
        setattr(storage, name, YesKept(asked, skip=1 if name.endswith("_on_connection") else 0))


def _store_planned_events(storage: PostgresEventLogStorage, events: Sequence[EventLogEntry]) -> None:
    """A run's planned events in one insert; then, in one transaction, each asset's last run (Dagster's own upsert
    per asset) and every check's planned execution in one insert (the rows Dagster's per-event write makes)."""
    with storage.run_connection() as conn:
        rows = conn.execute(storage.prepare_insert_event_batch(events).returning(SqlEventLogStorageTable.c.id))
        event_ids = [int(row[0]) for row in rows.fetchall()]  # PostgreSQL returns a VALUES list's rows in order
    if len(event_ids) != len(events):
        raise RuntimeError(f"{len(events)} planned events stored, {len(event_ids)} ids returned")
    planned_checks = []
    with storage.index_transaction() as conn:
        for event, event_id in zip(events, event_ids, strict=True):
            if event.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
                storage._store_asset_event(conn, event, event_id)  # noqa: SLF001 - Dagster's own index update
            else:
                planned_checks += _planned_check_rows(storage, event, event_id)
        if planned_checks:
            conn.execute(AssetCheckExecutionsTable.insert().values(planned_checks))


def _planned_check_rows(storage: PostgresEventLogStorage, event: EventLogEntry, event_id: int) -> list[dict]:
    """The asset_check_executions rows of one planned check, one per partition, as Dagster's
    `_store_asset_check_evaluation_planned` writes them."""
    planned = event.get_dagster_event().event_specific_data
    partitions = planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
    return [
        {"asset_key": planned.asset_key.to_string(), "check_name": planned.check_name, "partition": partition,
         "run_id": event.run_id, "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
         "evaluation_event": serialize_value(event),
         "evaluation_event_timestamp": storage._event_insert_timestamp(event),  # noqa: SLF001
         "evaluation_event_storage_id": event_id}
        for partition in partitions
    ]


def _write_in_fewer_round_trips(storage) -> None:
    """Events written without a NOTIFY each, planned events in bulk (the module's docstring says why)."""
    if not isinstance(storage, PostgresEventLogStorage) or getattr(storage, "writes_tuned", False):
        return
    storage.store_event = types.MethodType(SqlEventLogStorage.store_event, storage)
    batch = storage.store_event_batch

    def store_event_batch(events: Sequence[EventLogEntry]) -> None:
        if events and all(e.is_dagster_event and e.dagster_event_type in PLANNED for e in events):
            _store_planned_events(storage, events)
        else:
            batch(events)

    storage.store_event_batch = store_event_batch
    storage.writes_tuned = True


def hold_storage_connections(instance: DagsterInstance) -> DagsterInstance:
    """Keep the instance's run, event and schedule storage connections open between writes (a pool of one
    plus overflow) instead of a TLS connection per event. Only for a process that runs many runs itself.
    Each checkout is checked first (the listener sits on the QueuePool class: in our processes only Dagster's
    pooled storage uses one; great-expectations gets a StaticPool), each storage asks its catalogue questions
    once, the instance asks whether a partition exists once per run (`forget_partitions`), and events are written
    in fewer round trips."""
    if not pool_events.contains(QueuePool, "checkout", _alive_on_checkout):
        pool_events.listen(QueuePool, "checkout", _alive_on_checkout)
    if instance not in _POOLED_INSTANCES:  # each call would build new engines and strand the old pools
        instance.optimize_for_webserver(
            statement_timeout=STORAGE_STATEMENT_TIMEOUT_MS,
            pool_recycle=STORAGE_POOL_RECYCLE_S,
            max_overflow=STORAGE_MAX_OVERFLOW,
        )
        for storage in (instance.event_log_storage, instance.run_storage, instance.schedule_storage):
            _keep_yes_answers(storage)
        events = instance.event_log_storage
        events.has_dynamic_partition = _partition_answers_kept_until_deleted(events)
        _write_in_fewer_round_trips(events)
        os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", EVENT_BATCH_SIZE)  # read by Dagster at each event
        _POOLED_INSTANCES.add(instance)
    return instance


def _partition_answers_kept_until_deleted(storage) -> YesKept:
    """`storage.has_dynamic_partition` keeping its yes answers, forgotten as soon as this process deletes a
    partition through the same storage (an erasure run beside a refresh, a sensor tick on the same instance);
    a partition deleted by another process is seen at the next run (`forget_partitions`)."""
    kept = YesKept(storage.has_dynamic_partition)
    delete = storage.delete_dynamic_partition

    def delete_dynamic_partition(*args, **kwargs):
        try:
            return delete(*args, **kwargs)
        finally:
            kept.forget()

    storage.delete_dynamic_partition = delete_dynamic_partition
    return kept


def forget_partitions(instance: DagsterInstance) -> None:
    """Before a run: which partitions exist is asked afresh (a tenant erased since the last run is seen)."""
    kept = getattr(instance.event_log_storage, "has_dynamic_partition", None)
    if isinstance(kept, YesKept):
        kept.forget()
