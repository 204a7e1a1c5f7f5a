"""Age-based removal: every partition older than its dataset's cap leaves the warehouse, the landing zone and
Dagster, for one tenant at a time, and what left is recorded in `audit.retention_removals`.

Per tenant and dataset, the steps (each re-runnable, the erasure's model):

    plan -> delete_documents -> mark_partitions -> remove_rows_and_record

- plan: which partition days are older than the cap (raw rows, quarantine rows, landed documents, Dagster
  materializations), kept in `audit.retention_progress`, so a re-run after a crash records what the first
  attempt found (the documents it deleted included) instead of what is left;
- delete_documents: the landed (encrypted) documents of those days; deleting one already gone is a no-op;
- mark_partitions: Dagster is told the asset partitions were removed (`PartitionRecords`);
- remove_rows_and_record: one transaction deletes the raw and quarantine rows (as the tenant's own role, so
  no other tenant's schema is reachable), drops the incremental marts built from them (their next build is a
  full one, so they stop showing removed days), verifies nothing older than the cap is left, inserts the
  record and deletes the progress row. A failure anywhere rolls it all back: never half-recorded.

Datasets Amazon sends in one document (sales and traffic, by date and by SKU) share their landed documents;
those go when the shorter of the two caps passes, and that dataset's record counts them. Dagster-free:
defs/retention.py implements `PartitionRecords` on the instance.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import psycopg
from psycopg import sql

from orchestration.compliance.audit_schema import APPEND_FUNCTIONS
from orchestration.errors import RetkeeError
from orchestration.extract.catalogue import EXTRACTIONS, Extraction
from orchestration.land.landing_zone import LandingZone
from orchestration.load.datasets import DATASETS, Dataset
from orchestration.retain.caps import AgeCap, oldest_day_kept_of
from orchestration.warehouse.grants import tenant_owner_role, tenant_scope
from orchestration.warehouse.schemas import check_tenant_id, tenant_schema


class RetentionError(RetkeeError, RuntimeError):
    """A removal that could not finish; the next run continues where it stopped."""


class PartitionRecords(Protocol):
    """What removal needs from the orchestrator: the partitions it knows, and a way to mark them removed."""

    def materialized_days(self, tenant_id: str, dataset: str) -> set[str]: ...
    def mark_removed(self, tenant_id: str, dataset: str, days: list[str], metadata: dict) -> int: ...


class NoPartitionRecords:
    """No orchestrator (scripts, benchmarks): nothing to mark."""

    def materialized_days(self, tenant_id: str, dataset: str) -> set[str]:
        return set()

    def mark_removed(self, tenant_id: str, dataset: str, days: list[str], metadata: dict) -> int:
        return 0


@dataclass
class RemovalTools:
    conn: psycopg.Connection  # the pipeline role: a member of every `<tenant>_owner`
    landing: LandingZone
    partitions: PartitionRecords
    run_id: str
    # dataset -> incremental marts (table names in `<tenant>_marts`) built from it (defs/retention.py reads
    # them from the dbt manifest): they keep old days unless rebuilt in full.
    incremental_marts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    log: Callable[[str], None] = lambda message: None
    on_step_done: Callable[[str, str], None] | None = None  # tests use it to kill a removal between steps


@dataclass(frozen=True)
class Removal:
    """One dataset's removal for one tenant, as recorded."""

    tenant_id: str
    dataset: str
    first_day: str
    last_day: str
    oldest_day_kept: str
    cap_months: int
    rows_removed: int
    quarantine_rows_removed: int
    documents_removed: int
    dagster_partitions: int
    marts_dropped: tuple[str, ...]


def ensure_progress_table(conn: psycopg.Connection) -> None:
    """audit.retention_progress is the administrator's (provisioning makes it): refuse clearly if it is missing."""
    if not conn.execute("select to_regprocedure(%s) is not null", (APPEND_FUNCTIONS[-1],)).fetchone()[0]:
        raise RetentionError("the warehouse has no retention audit tables: provision it with "
                             "`make run` (the administrator creates them)")


# --- what is older than the cap -----------------------------------------------------------------------------
def _table(tenant_id: str, layer: str, dataset: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(tenant_schema(tenant_id, layer)), sql.Identifier(dataset))


def _exists(conn: psycopg.Connection, tenant_id: str, layer: str, dataset: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null",
                        (f'"{tenant_schema(tenant_id, layer)}"."{dataset}"',)).fetchone()[0]


def _days_before(conn: psycopg.Connection, tenant_id: str, layer: str, dataset: str, oldest: date) -> dict[str, int]:
    """Partition day -> rows, for the days before `oldest` (ISO days compare as text)."""
    if not _exists(conn, tenant_id, layer, dataset):
        return {}
    rows = conn.execute(
        sql.SQL("select _partition, count(*) from {} where _partition < %s group by 1").format(
            _table(tenant_id, layer, dataset)), (oldest.isoformat(),)).fetchall()
    return {day: int(count) for day, count in rows}


def oldest_day_held(conn: psycopg.Connection, tenant_id: str, dataset: str) -> str | None:
    """The oldest partition day of a tenant's raw table, or None when it holds nothing."""
    if not _exists(conn, tenant_id, "raw", dataset):
        return None
    return conn.execute(sql.SQL("select min(_partition) from {}").format(_table(tenant_id, "raw", dataset))
                        ).fetchone()[0]


def document_owner(extraction: Extraction, today: date, caps: Mapping[str, AgeCap]) -> Dataset:
    """The dataset whose removal takes the extraction's landed documents: the one with the shortest cap."""
    oldest = oldest_day_kept_of([d.name for d in extraction.datasets], today, caps)
    return next(d for d in extraction.datasets if caps[d.name].oldest_day_kept(today) == oldest)


def expired_documents(landing: LandingZone, tenant_id: str, extraction: Extraction, oldest: date) -> list[str]:
    """Landed documents (`<tenant>/<extraction>/<day>/<document>.env`) of days before `oldest`."""
    keys = []
    for key in landing.list(f"{tenant_id}/{extraction.name}"):
        parts = key.split("/")
        if len(parts) == 4 and parts[2] < oldest.isoformat():
            keys.append(key)
    return keys


def plan_removal(tools: RemovalTools, tenant_id: str, dataset: Dataset, today: date,
                 caps: Mapping[str, AgeCap]) -> dict | None:
    """What of this dataset is older than its cap, or None when nothing is."""
    conn = tools.conn
    cap = caps[dataset.name]
    extraction = _extraction_of(dataset)
    oldest = oldest_day_kept_of([d.name for d in extraction.datasets], today, caps)
    rows = _days_before(conn, tenant_id, "raw", dataset.name, oldest)
    quarantine = _days_before(conn, tenant_id, "quarantine", dataset.name, oldest)
    documents = (expired_documents(tools.landing, tenant_id, extraction, oldest)
                 if document_owner(extraction, today, caps) is dataset else [])
    known = tools.partitions.materialized_days(tenant_id, dataset.name)
    dagster_days = sorted(d for d in known if d < oldest.isoformat())
    days = sorted({*rows, *quarantine, *(k.split("/")[2] for k in documents), *dagster_days})
    if not days:
        return None
    return {
        "oldest_day_kept": oldest.isoformat(),
        "cap_months": min(caps[d.name].months for d in extraction.datasets),
        "cap_source": cap.source,
        "legal_basis": str(cap.legal_basis) if cap.legal_basis else None,
        "days": days,
        "rows": sum(rows.values()),
        "quarantine_rows": sum(quarantine.values()),
        "documents": documents,
        "dagster_days": dagster_days,
    }


def _progress(tools: RemovalTools, tenant_id: str, dataset: Dataset, today: date,
              caps: Mapping[str, AgeCap]) -> dict | None:
    """The plan of an unfinished earlier attempt, or a new one (recorded before anything is removed)."""
    conn = tools.conn
    row = conn.execute("select plan from audit.retention_progress where tenant_id = %s and dataset = %s",
                       (tenant_id, dataset.name)).fetchone()
    if row is not None:
        plan = row[0]
    else:
        plan = plan_removal(tools, tenant_id, dataset, today, caps)
        if plan is None:
            return None
        with conn.transaction():
            conn.execute("select audit.start_retention_removal(%s, %s, %s)",
                         (tenant_id, dataset.name, json.dumps(plan)))
    with conn.transaction():  # the audit tables are the administrator's: the pipeline writes through functions
        plan = conn.execute("select audit.record_retention_attempt(%s, %s, %s)",
                            (tenant_id, dataset.name, tools.run_id)).fetchone()[0]
    return plan


# --- the removal ----------------------------------------------------------------------------------------------
def _delete_documents(tools: RemovalTools, plan: dict) -> None:
    for key in plan["documents"]:
        tools.landing.delete(key)  # a key already gone (an earlier attempt) is no error


def _mark_partitions(tools: RemovalTools, tenant_id: str, dataset: Dataset, plan: dict) -> int:
    return tools.partitions.mark_removed(tenant_id, dataset.name, plan["dagster_days"], {
        "removed_by": "retention", "oldest_day_kept": plan["oldest_day_kept"], "cap_months": plan["cap_months"],
        "run_id": tools.run_id,
    })


def _remove_rows_and_record(tools: RemovalTools, tenant_id: str, dataset: Dataset, plan: dict,
                            marked: int) -> Removal:
    conn = tools.conn
    oldest = plan["oldest_day_kept"]
    marts = tools.incremental_marts.get(dataset.name, ())
    with conn.transaction(), conn.cursor() as cur:
        # The tenant's own role for the tenant's tables: a wrong name can reach no other tenant's schema.
        cur.execute(sql.SQL("set local role {}").format(sql.Identifier(tenant_owner_role(tenant_id))))
        cur.execute("set local lock_timeout = '60s'")
        removed = {}
        for layer in ("raw", "quarantine"):
            removed[layer] = 0
            if _exists(conn, tenant_id, layer, dataset.name):
                cur.execute(sql.SQL("delete from {} where _partition < %s").format(
                    _table(tenant_id, layer, dataset.name)), (oldest,))
                removed[layer] = cur.rowcount
        dropped = []
        for mart in marts if removed["raw"] else ():
            if _exists(conn, tenant_id, "marts", mart):
                cur.execute(sql.SQL("drop table {} cascade").format(_table(tenant_id, "marts", mart)))
                dropped.append(mart)
        left = {layer: sum(_days_before(conn, tenant_id, layer, dataset.name, date.fromisoformat(oldest)).values())
                for layer in ("raw", "quarantine")}
        extraction = _extraction_of(dataset)
        documents_left = (expired_documents(tools.landing, tenant_id, extraction, date.fromisoformat(oldest))
                          if plan["documents"] else [])
        if any(left.values()) or documents_left:
            raise RetentionError(f"removal of {dataset.name} of tenant {tenant_id} before {oldest} is not complete:"
                                 f" rows left {left}, documents left {len(documents_left)}")
        cur.execute("set local role none")
        days = plan["days"]
        removal = Removal(
            tenant_id=tenant_id, dataset=dataset.name, first_day=days[0], last_day=days[-1], oldest_day_kept=oldest,
            cap_months=plan["cap_months"], rows_removed=removed["raw"], quarantine_rows_removed=removed["quarantine"],
            documents_removed=len(plan["documents"]), dagster_partitions=marked, marts_dropped=tuple(dropped),
        )
        # Records the removal and closes its plan (audit.retention_progress) in one call.
        cur.execute(
            "select audit.record_retention_removal(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (tenant_id, dataset.name, removal.first_day, removal.last_day, oldest, removal.cap_months,
             plan["cap_source"], plan["legal_basis"], removal.rows_removed, removal.quarantine_rows_removed,
             removal.documents_removed, marked, list(dropped), tools.run_id),
        )
    return removal


def remove_expired(tools: RemovalTools, tenant_id: str, today: date, caps: Mapping[str, AgeCap],
                   datasets: Iterable[Dataset] | None = None) -> list[Removal]:
    """Remove every partition of the tenant older than its dataset's cap; returns what was recorded.

    Safe to call again after any failure: an unfinished removal is completed from its recorded plan.
    """
    check_tenant_id(tenant_id)
    conn = tools.conn
    conn.commit()
    # Autocommit: each step's `with conn.transaction()` is then a real transaction (never a savepoint of an
    # implicit one), and reads between steps hold no locks.
    saved_autocommit = conn.autocommit
    conn.autocommit = True
    try:
        ensure_progress_table(conn)
        # Entering the tenant's scope once provisions its owner role (and hands over what an older warehouse
        # left owned by the pipeline), which the removal transaction switches to.
        with tenant_scope(conn, tenant_id):
            pass
        return _remove(tools, tenant_id, today, caps, DATASETS.values() if datasets is None else datasets)
    finally:
        conn.autocommit = saved_autocommit


def _remove(tools: RemovalTools, tenant_id: str, today: date, caps: Mapping[str, AgeCap],
            datasets: Iterable[Dataset]) -> list[Removal]:
    removals = []
    for dataset in datasets:
        if _extraction_of(dataset) is None:  # a dataset nothing extracts yet holds nothing
            continue
        plan = _progress(tools, tenant_id, dataset, today, caps)
        if plan is None:
            continue
        _delete_documents(tools, plan)
        _step_done(tools, "delete_documents", dataset)
        marked = _mark_partitions(tools, tenant_id, dataset, plan)
        _step_done(tools, "mark_partitions", dataset)
        removal = _remove_rows_and_record(tools, tenant_id, dataset, plan, marked)
        _step_done(tools, "remove_rows_and_record", dataset)
        tools.log(f"tenant {tenant_id} {dataset.name}: removed {removal.first_day}..{removal.last_day} "
                  f"({removal.rows_removed} rows, {removal.quarantine_rows_removed} quarantined, "
                  f"{removal.documents_removed} documents) older than {removal.oldest_day_kept}")
        removals.append(removal)
    return removals


def _extraction_of(dataset: Dataset) -> Extraction | None:
    return next((e for e in EXTRACTIONS.values() if dataset in e.datasets), None)


def _step_done(tools: RemovalTools, step: str, dataset: Dataset) -> None:
    if tools.on_step_done is not None:
        tools.on_step_done(step, dataset.name)
