"""Dagster's storage, tuned for a process that runs many runs itself (a refresh): fewer round trips per event.

Dagster's PostgreSQL storage opens a new connection for every event it writes unless told it lives in a
long-running process; a refresh writes hundreds of events per tenant, so it holds a small pool instead
(`hold_storage_connections`), and keeps that pool's round trips per event down:
- a connection's liveness is read from its socket, not asked with `select 1`;
- the storage's catalogue questions ("does this table exist", "does the asset table have this column") are asked
  once per table and column: migrations only add them, so a yes holds for the storage's life (a no is asked again);
- whether a tenant's partition exists is asked once per run (`forget_partitions` between runs), not at each of the
  ~70 places a run's events and inputs look at its partition range; a tenant erased meanwhile (its partition
  removed) is seen by the next run.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

from dagster import DagsterInstance
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


def hold_storage_connections(instance: DagsterInstance) -> DagsterInstance:
    """Keep the instance's run, event and schedule storage connections open between writes (a pool of one
    plus overflow) instead of a TLS connection per event. Only for a process that runs many runs itself.
    Each checkout is checked first (the listener sits on the QueuePool class: in our processes only Dagster's
    pooled storage uses one; great-expectations gets a StaticPool), each storage asks its catalogue questions
    once, and the instance asks whether a partition exists once per run (`forget_partitions`)."""
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
        events.has_dynamic_partition = YesKept(events.has_dynamic_partition)
        _POOLED_INSTANCES.add(instance)
    return instance


def forget_partitions(instance: DagsterInstance) -> None:
    """Before a run: which partitions exist is asked afresh (a tenant erased since the last run is seen)."""
    kept = getattr(instance.event_log_storage, "has_dynamic_partition", None)
    if isinstance(kept, YesKept):
        kept.forget()
