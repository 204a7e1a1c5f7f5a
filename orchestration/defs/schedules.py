"""The daily schedule: yesterday's data for every tenant, any missed day of the last week, today's snapshots.

A day is "missed" when the orders table has no materialization for it (the daemon was down, a run
failed): the schedule asks for it again, so a gap closes by itself within CATCH_UP_DAYS. Re-running a
partition replaces it, so asking twice is harmless. Snapshots (inventory, listings, fees, inbound) can
only be taken of the present, so they run for today. An extraction with a lookback (Finances: money is
released and restated after it posts) has every day of its lookback asked again, daily. Run keys make
every request idempotent per tick.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from dagster import (
    AssetKey,
    DefaultScheduleStatus,
    MultiPartitionKey,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

from orchestration.defs.extraction import DAILY_ASSETS, REPORT_ASSETS, SNAPSHOT_ASSETS, asset_key
from orchestration.defs.partitions import TENANTS
from orchestration.extract.catalogue import EXTRACTIONS

CATCH_UP_DAYS = 7
CRON = "0 3 * * *"  # 03:00 UTC: Amazon's day is over everywhere we sell and most statuses have settled

# The one extraction job: the schedule asks it for each (tenant, day), refresh runs it in process.
extraction_job = define_asset_job("extract_reports", selection=REPORT_ASSETS)
DAILY_KEYS = [key for a in DAILY_ASSETS for key in a.keys]
SNAPSHOT_KEYS = [key for a in SNAPSHOT_ASSETS for key in a.keys]


def days_to_request(today: date, materialized: set[str], tenant_id: str) -> list[date]:
    """Yesterday always (late statuses settle), and every day of the catch-up window never materialized."""
    wanted = []
    for offset in range(CATCH_UP_DAYS, 0, -1):
        day = today - timedelta(days=offset)
        key = str(MultiPartitionKey({"tenant": tenant_id, "day": day.isoformat()}))
        if offset == 1 or key not in materialized:
            wanted.append(day)
    return wanted


def lookback_requests(today: date, requested: set[date]) -> dict[date, list[AssetKey]]:
    """Days of the lookback windows not already requested, with the tables that look back that far."""
    wanted: dict[date, list[AssetKey]] = {}
    for extraction in EXTRACTIONS.values():
        for offset in range(1, extraction.lookback_days + 1):
            day = today - timedelta(days=offset)
            if day not in requested:
                wanted.setdefault(day, []).extend(asset_key(d) for d in extraction.datasets)
    return dict(sorted(wanted.items()))


def requests_for(today: date, tenant_ids: list[str], materialized: set[str]) -> list[RunRequest]:
    requests = []
    for tenant_id in tenant_ids:
        days = days_to_request(today, materialized, tenant_id)
        for day in days:
            key = MultiPartitionKey({"tenant": tenant_id, "day": day.isoformat()})
            requests.append(
                RunRequest(run_key=f"daily|{today}|{key}", partition_key=key, asset_selection=DAILY_KEYS)
            )
        for day, keys in lookback_requests(today, set(days)).items():
            key = MultiPartitionKey({"tenant": tenant_id, "day": day.isoformat()})
            requests.append(RunRequest(run_key=f"lookback|{today}|{key}", partition_key=key, asset_selection=keys))
        key = MultiPartitionKey({"tenant": tenant_id, "day": today.isoformat()})
        requests.append(RunRequest(run_key=f"snapshot|{key}", partition_key=key, asset_selection=SNAPSHOT_KEYS))
    return requests


@schedule(
    cron_schedule=CRON,
    execution_timezone="UTC",
    job=extraction_job,
    default_status=DefaultScheduleStatus.STOPPED,
    description="Daily extraction of every tenant, catching up missed days of the last week.",
)
def daily_extraction(context: ScheduleEvaluationContext):
    moment = context.scheduled_execution_time or datetime.now()
    today = moment.date()
    tenant_ids = context.instance.get_dynamic_partitions(TENANTS.name)
    materialized = set(context.instance.get_materialized_partitions(AssetKey(["raw", "orders"])))
    return requests_for(today, list(tenant_ids), materialized)
