"""The daily schedule: yesterday's data for every tenant, any missed day of the last week, today's snapshots,
in a few runs per tenant (each one step over a range of the tenant's days, defs/extraction.py).

A day is "missed" when the orders table has no materialization for it (the daemon was down, a run
failed): the schedule asks for it again, so a gap closes by itself within CATCH_UP_DAYS. A run covers a
contiguous range, from the oldest day asked to yesterday; re-running a partition replaces it, so the days
in between being asked again is harmless. Snapshots (inventory, listings, fees, inbound) can only be taken
of the present, so they run for today. An extraction with a lookback (Finances: money is released and
restated after it posts) has the days of its lookback before that range asked again, daily, in a run of its
own. Run keys make every request idempotent per tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dagster import (
    AssetKey,
    AssetSelection,
    DefaultScheduleStatus,
    MultiPartitionKey,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

from orchestration.defs.extraction import DAILY_KEYS, REPORT_ASSETS, SNAPSHOT_KEYS, asset_key, extraction_checks
from orchestration.defs.partitions import TENANTS, days_of_tenant, tenant_day
from orchestration.defs.retention import retention_caps_check
from orchestration.extract.catalogue import EXTRACTIONS

CATCH_UP_DAYS = 7
CRON = "0 3 * * *"  # 03:00 UTC: Amazon's day is over everywhere we sell and most statuses have settled

# The one extraction job: the schedule asks it for each tenant's days, refresh runs it in process. It runs the
# extraction's own data-quality checks, not the retention-cap checks: those look at every tenant, so in every
# tenant's run they made a refresh quadratic in tenants; their own daily job runs them (defs/retention.py).
extraction_job = define_asset_job(
    "extract_reports", selection=AssetSelection.assets(*REPORT_ASSETS) - AssetSelection.checks(retention_caps_check)
)


@dataclass(frozen=True)
class DaysRequest:
    """One run's worth of a tenant's extraction: tables, over the days first..last."""

    what: str  # daily, lookback of an extraction, snapshot: the run key's first part
    keys: list[AssetKey]
    first: date
    last: date


def days_to_request(today: date, materialized: set[str], tenant_id: str) -> list[date]:
    """Yesterday always (late statuses settle), and every day of the catch-up window never materialized."""
    wanted = []
    for offset in range(CATCH_UP_DAYS, 0, -1):
        day = today - timedelta(days=offset)
        key = str(MultiPartitionKey({"tenant": tenant_id, "day": day.isoformat()}))
        if offset == 1 or key not in materialized:
            wanted.append(day)
    return wanted


def lookback_requests(today: date, first_requested: date) -> list[DaysRequest]:
    """Per extraction with a lookback, the days of its window before `first_requested` (those after it are in
    the daily run already), with its tables."""
    wanted = []
    for extraction in EXTRACTIONS.values():
        if not extraction.lookback_days:
            continue
        first, last = today - timedelta(days=extraction.lookback_days), first_requested - timedelta(days=1)
        if first <= last:
            wanted.append(DaysRequest(f"lookback {extraction.name}", [asset_key(d) for d in extraction.datasets],
                                      first, last))
    return wanted


def tenant_requests(today: date, materialized: set[str], tenant_id: str) -> list[DaysRequest]:
    """A tenant's day: its daily tables from the oldest day asked to yesterday, the lookbacks before that, and
    today's snapshots."""
    days = days_to_request(today, materialized, tenant_id)
    return [
        DaysRequest("daily", DAILY_KEYS, days[0], days[-1]),
        *lookback_requests(today, days[0]),
        DaysRequest("snapshot", SNAPSHOT_KEYS, today, today),
    ]


def requests_for(today: date, tenant_ids: list[str], materialized: set[str]) -> list[RunRequest]:
    requests = []
    for tenant_id in tenant_ids:
        for wanted in tenant_requests(today, materialized, tenant_id):
            run_key = f"{wanted.what.replace(' ', '|')}|{today}|{tenant_id}"
            if wanted.first == wanted.last:
                requests.append(RunRequest(run_key=run_key, partition_key=tenant_day(tenant_id, wanted.first),
                                           asset_selection=wanted.keys,
                                           asset_check_keys=extraction_checks(wanted.keys)))
            else:
                requests.append(RunRequest(run_key=run_key, asset_selection=wanted.keys,
                                           asset_check_keys=extraction_checks(wanted.keys),
                                           tags=days_of_tenant(tenant_id, wanted.first, wanted.last)))
    return requests


@schedule(
    cron_schedule=CRON,
    execution_timezone="UTC",
    job=extraction_job,
    default_status=DefaultScheduleStatus.STOPPED,
    description="Daily extraction of every tenant, catching up missed days of the last week: a few runs per "
    "tenant, each over a range of its days.",
)
def daily_extraction(context: ScheduleEvaluationContext):
    moment = context.scheduled_execution_time or datetime.now()
    today = moment.date()
    tenant_ids = context.instance.get_dynamic_partitions(TENANTS.name)
    materialized = set(context.instance.get_materialized_partitions(AssetKey(["raw", "orders"])))
    return requests_for(today, list(tenant_ids), materialized)
