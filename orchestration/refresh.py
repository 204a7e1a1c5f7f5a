"""Runs a refresh through Dagster: per tenant, one extraction run over its days, then its models.

A tenant's extraction is one run over the range of days (one step, defs/extraction.py; a gap in the days
asked splits it into a run per stretch). The daily tables run for each day (every table, for today);
snapshots (inventory, listings, fees, inbound) can only be taken of the present, so with `snapshots=True`
today's partition of those runs as well, in a run of its own. With `marts=False` the tenants' models are left
as they are (extraction only). A tenant that is no longer active stops at its first failed run.

Runs are recorded in the Dagster instance (DAGSTER_HOME), so they show in the UI like any other run;
they execute in this process, which keeps a small refresh quick (no per-run process start-up), on storage tuned
for a process that runs many runs (orchestration/instance_storage.py: a held pool, catalogue and partition
questions asked once).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from dagster import DagsterInstance

from orchestration.defs.extraction import DAILY_KEYS, SNAPSHOT_KEYS, TENANT_STOPPED
from orchestration.defs.partitions import TENANTS, days_of_tenant, stretches, tenant_day
from orchestration.errors import RetkeeError
from orchestration.extract.catalogue import EXTRACTIONS
from orchestration.extract.planner import days_between
from orchestration.instance_storage import hold_storage_connections
from orchestration.job_runs import run_job
from orchestration.retain.caps import age_caps, refuse_beyond_cap


@dataclass
class RefreshReport:
    succeeded: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def day_range(end: date, days: int) -> list[date]:
    return [end - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


class BackfillRefused(RetkeeError, ValueError):
    """A backfill range that cannot be run as asked (a day in the future, an end before the start)."""


def backfill_days(first_day: date, last_day: date, today: date | None = None) -> list[date]:
    """The days of a backfill, first_day..last_day, once the range is known to be allowed: no day in the
    future, none older than a daily table's retention cap (retain/caps.py; the step would refuse it later,
    after some runs), so the whole range is refused before anything is asked of Amazon."""
    today = today or datetime.now(UTC).date()
    latest = max(first_day, last_day)
    if latest > today:
        raise BackfillRefused(f"{latest} is in the future (today is {today} UTC): a backfill ends today at the latest")
    if last_day < first_day:
        raise BackfillRefused(f"the range ends ({last_day}) before it starts ({first_day})")
    caps = age_caps()
    daily = [d.name for e in EXTRACTIONS.values() if not e.snapshot for d in e.datasets]
    refuse_beyond_cap([n for n in daily if caps[n].expired(first_day, today)] or daily, first_day, today, caps)
    return days_between(first_day, last_day)


def runs_planned(tenants: int, days: list[date], *, snapshots: bool, marts: bool) -> int:
    """How many runs a refresh makes if nothing fails (for a progress bar)."""
    today = datetime.now(UTC).date()
    return tenants * (len(stretches(days)) + (snapshots and today not in days) + marts)


def refresh(
    tenant_ids: list[str],
    days: list[date],
    *,
    instance: DagsterInstance | None = None,
    progress: Callable[[str], None] = lambda message: None,
    snapshots: bool = False,
    marts: bool = True,
    event_log: Path | None = None,
) -> RefreshReport:
    """`event_log`: a file that gets every Dagster event and log line of these runs, one line each (the console
    then shows only progress; the same events are in the Dagster UI)."""
    if instance is None:  # the instance DAGSTER_HOME names, closed (its pool with it) when the refresh ends
        with DagsterInstance.get() as owned:
            return refresh(tenant_ids, days, instance=owned, progress=progress, snapshots=snapshots, marts=marts,
                           event_log=event_log)
    hold_storage_connections(instance)
    _register_tenants(instance, tenant_ids)
    report = RefreshReport()
    recorder = _RunRecorder(report, progress, instance, event_log)
    today = datetime.now(UTC).date()
    keep_out_of_collections()
    for number, tenant_id in enumerate(tenant_ids):
        if number == 1:
            keep_out_of_collections()  # dbt's parsed project and what the first runs set up, too
        stopped = False
        for first, last in stretches(days):
            # Past days: the daily tables (a snapshot of a past day cannot be taken); today: every table.
            keys = None if last >= today else DAILY_KEYS
            result = _extract(instance, tenant_id, first, last, keys)
            recorder.record(f"{tenant_id} {_days_label(first, last)} extract", result)
            if not result.success and _tenant_stopped(result):
                stopped = True
                break
        if snapshots and not stopped and today not in days:
            result = _extract(instance, tenant_id, today, today, SNAPSHOT_KEYS)
            recorder.record(f"{tenant_id} {today.isoformat()} snapshots", result)
        if not marts:
            continue
        label = f"{tenant_id} marts"
        result = run_job("build_marts", instance, partition_key=tenant_id)
        recorder.record(label, result)
    return report


def keep_out_of_collections() -> None:
    """Take every object alive now out of the garbage collector's full collections (gc.freeze): the code,
    Dagster's definitions, dbt's parsed project, great-expectations' contexts live as long as the process, and
    each full collection walked all of them again (about 0.7 million objects, 0.1-0.4 s a collection, several
    per tenant). Called before the first run and once the first tenant is done (dbt is parsed then); what a
    tenant leaves behind afterwards is collected as usual. Garbage is collected first, so none is kept."""
    gc.collect()
    gc.freeze()


def _extract(instance: DagsterInstance, tenant_id: str, first: date, last: date, keys):
    """One run of the extraction job over the tenant's days first..last (a single partition for one day), on the
    executor the settings choose (orchestration/job_runs.py)."""
    if first == last:
        return run_job("extract_reports", instance, partition_key=tenant_day(tenant_id, first), asset_selection=keys)
    return run_job("extract_reports", instance, tags=days_of_tenant(tenant_id, first, last), asset_selection=keys)


def _days_label(first: date, last: date) -> str:
    return first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"


def _register_tenants(instance: DagsterInstance, tenant_ids: list[str]) -> None:
    """Add the tenants' partitions; a refresh started at the same moment may be adding them too."""
    for attempt in range(3):
        known = set(instance.get_dynamic_partitions(TENANTS.name))
        missing = [t for t in tenant_ids if t not in known]
        if not missing:
            return
        try:
            instance.add_dynamic_partitions(TENANTS.name, missing)
            return
        except Exception:  # noqa: BLE001 - the other refresh won the insert; look again
            if attempt == 2:
                raise


def _failure_text(result) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            return (event.step_failure_data.user_failure_data.description
                    if event.step_failure_data.user_failure_data and
                    event.step_failure_data.user_failure_data.description else error.message.strip())
    return "failed"


def _tenant_stopped(result) -> bool:
    """The run failed because its tenant is not active (revoked, terminated, erased): say so from the failure's
    structured metadata (defs.extraction.TENANT_STOPPED), so no later partition of the tenant is tried."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.user_failure_data:
            metadata = event.step_failure_data.user_failure_data.metadata or {}
            if TENANT_STOPPED in metadata:
                return True
    return False


class _RunRecorder:
    """Counts each run in the report, says one progress line for it, and appends its events to the event log."""

    def __init__(self, report: RefreshReport, progress: Callable[[str], None], instance: DagsterInstance,
                 event_log: Path | None) -> None:
        self.report, self.progress, self.instance, self.event_log = report, progress, instance, event_log

    def record(self, label: str, result) -> None:
        if self.event_log is not None:
            self._append_events(result.run_id)
        _record(self.report, label, result, self.progress)

    def _append_events(self, run_id: str) -> None:
        self.event_log.parent.mkdir(parents=True, exist_ok=True)
        with self.event_log.open("a", encoding="utf-8") as out:
            for entry in self.instance.all_logs(run_id):
                when = datetime.fromtimestamp(entry.timestamp, UTC).isoformat(timespec="milliseconds")
                kind = entry.dagster_event.event_type_value if entry.dagster_event else "LOG"
                message = " ".join((entry.message or entry.user_message or "").split())
                out.write(f"{when} {logging.getLevelName(entry.level)} {run_id[:8]} {entry.step_key or '-'} "
                          f"{kind} {message}\n")


def _record(report: RefreshReport, label: str, result, progress) -> None:
    if result.success:
        report.succeeded.append(label)
        progress(f"ok      {label}")
    else:
        reason = _failure_text(result)
        report.failed.append((label, reason))
        progress(f"FAILED  {label}: {reason}")
