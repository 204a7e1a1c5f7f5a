"""The access log: which run touched which tenant's data, under which database role and Vault duty.

Dagster already records every run; this copies the facts incident scoping needs into `audit.access_log`
(append only for the pipeline role), so the evidence lives beside the warehouse and outlives Dagster's
run-storage housekeeping. `sync_access_log` is idempotent: the sensor in defs/audit.py calls it every
minute, and the `retkee` commands call it before they report, which also covers runs made in-process
while no Dagster daemon was running.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from orchestration.compliance.labels import asset_labels
from orchestration.transform.manifest import read_manifest
from orchestration.warehouse.schemas import TENANT_ID_PATTERN

# A job says which database role and Vault duty it runs under with these run tags; untagged jobs are the
# pipeline's (extraction and marts), which is the least surprising default for an auditor to read.
DB_ROLE_TAG = "retkee/db_role"
VAULT_DUTY_TAG = "retkee/vault_duty"
DEFAULT_ROLE = "pipeline"
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")


@dataclass(frozen=True)
class AccessEntry:
    run_id: str
    job_name: str
    tenant_id: str | None
    partition_key: str | None
    assets: tuple[str, ...]
    data_categories: tuple[str, ...]
    db_role: str
    vault_duty: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None


# The tag of a run over a range of one tenant's days (defs/partitions.days_of_tenant): Dagster puts no partition
# tag on a range run, and refuses `dagster/partition/tenant` alone on one.
TENANT_RANGE_TAG = "retkee/tenant"
# The tags by which a run's tenant is known: multi-partition runs (tenant x day), tenant runs, ranges of days.
TENANT_RUN_TAGS = ("dagster/partition/tenant", "dagster/partition", TENANT_RANGE_TAG)


def tenant_of(tags: dict[str, str]) -> str | None:
    """The tenant a run worked for, from its tags (multi-partition, tenant-only, or a range of a tenant's days)."""
    for key in TENANT_RUN_TAGS:
        value = tags.get(key)
        if value and TENANT_ID_PATTERN.fullmatch(value):
            return value
    return None


def _timestamp(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def entry_for(instance, record, classify: Callable[[str], str | None]) -> AccessEntry:
    from dagster import DagsterEventType

    run = record.dagster_run
    events = instance.all_logs(
        run.run_id,
        of_type={DagsterEventType.ASSET_MATERIALIZATION_PLANNED, DagsterEventType.ASSET_MATERIALIZATION},
    )
    assets = sorted({e.dagster_event.asset_key.to_user_string() for e in events if e.dagster_event.asset_key})
    categories = sorted({c for c in (classify(a) for a in assets) if c})
    return AccessEntry(
        run_id=run.run_id,
        job_name=run.job_name,
        tenant_id=tenant_of(run.tags),
        partition_key=run.tags.get("dagster/partition"),
        assets=tuple(assets),
        data_categories=tuple(categories),
        db_role=run.tags.get(DB_ROLE_TAG, DEFAULT_ROLE),
        vault_duty=run.tags.get(VAULT_DUTY_TAG, DEFAULT_ROLE),
        status=run.status.value,
        started_at=_timestamp(record.start_time),
        ended_at=_timestamp(record.end_time),
    )


def asset_classifications() -> dict[str, str]:
    """Asset key (as the UI writes it) -> data classification, from the catalogue the asset specs are built
    from (compliance/labels.py): logging a run does not load the code location."""
    labels = asset_labels(read_manifest())
    return {key: label["data_classification"] for key, label in labels.items() if label["data_classification"]}


def record_entries(conn: psycopg.Connection, entries: Iterable[AccessEntry]) -> int:
    """Append entries; a run already logged is left as it was (the log is never rewritten)."""
    written = 0
    with conn.cursor() as cur:
        for e in entries:
            # The log is the administrator's: the pipeline appends through audit.record_access, nothing else.
            cur.execute(
                "select audit.record_access(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (e.run_id, e.job_name, e.tenant_id, e.partition_key, list(e.assets), list(e.data_categories),
                 e.db_role, e.vault_duty, e.status, e.started_at, e.ended_at),
            )
            written += cur.fetchone()[0]
    conn.commit()
    return written


def sync_access_log(instance, conn: psycopg.Connection, updated_after: datetime | None = None) -> int:
    """Log every finished run (updated after `updated_after`, if given) not logged yet; returns how many."""
    from dagster import DagsterRunStatus, RunsFilter

    statuses = [DagsterRunStatus(s) for s in FINISHED]
    records = instance.get_run_records(RunsFilter(statuses=statuses, updated_after=updated_after), ascending=True)
    if not records:
        return 0
    logged = {
        row[0]
        for row in conn.execute(
            "select run_id from audit.access_log where run_id = any(%s)", ([r.dagster_run.run_id for r in records],)
        ).fetchall()
    }
    conn.commit()
    pending = [r for r in records if r.dagster_run.run_id not in logged]
    if not pending:
        return 0
    classifications = asset_classifications()
    return record_entries(conn, (entry_for(instance, r, classifications.get) for r in pending))
