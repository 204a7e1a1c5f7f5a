"""How work is cut: one partition per tenant (dynamic, pseudonymous ids) and, for time-based data, per UTC day;
a run takes one tenant and a range of its days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from dagster import DailyPartitionsDefinition, DynamicPartitionsDefinition, MultiPartitionKey, MultiPartitionsDefinition

# Dagster's own tags for a run over a range of partitions (what a single-run backfill sets); not re-exported at
# the top level of this version.
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from orchestration.compliance.access_log import TENANT_RANGE_TAG
from orchestration.retain.caps import partitions_start

TENANTS = DynamicPartitionsDefinition(name="tenants")
# The first day is the oldest day any dataset may still hold (today minus the largest retention cap,
# docs/retention.md): a day older than every cap is never requested again. It moves with the day the code
# location loads; a cap setting the policy refuses stops the code location here, before any run.
# end_offset=1: today is a partition too, because snapshots (inventory, listings, fees) can only be taken
# of the present day.
LOADED_ON = datetime.now(UTC).date()
DAYS = DailyPartitionsDefinition(start_date=partitions_start(LOADED_ON).isoformat(), timezone="UTC", end_offset=1)
TENANT_DAYS = MultiPartitionsDefinition({"tenant": TENANTS, "day": DAYS})


def tenant_day(tenant_id: str, day: date) -> MultiPartitionKey:
    return MultiPartitionKey({"tenant": tenant_id, "day": day.isoformat()})


def days_of_tenant(tenant_id: str, first: date, last: date) -> dict[str, str]:
    """The tags of a run over one tenant's days `first`..`last` (inclusive): Dagster's partition-range tags, as
    a single-run backfill sets them, so the run's one step sees every day and the UI records each. The tenant's
    tag (TENANT_RANGE_TAG) is set too: dagster.yaml's one-run-per-tenant limit, the erasure's stop_runs and the
    access log find a tenant's runs by it (Dagster refuses its own `dagster/partition/tenant` on a range run)."""
    return {
        ASSET_PARTITION_RANGE_START_TAG: str(tenant_day(tenant_id, first)),
        ASSET_PARTITION_RANGE_END_TAG: str(tenant_day(tenant_id, last)),
        TENANT_RANGE_TAG: tenant_id,
    }


def stretches(days: list[date]) -> list[tuple[date, date]]:
    """The days as runs of consecutive days, oldest first: each is one extraction run."""
    runs: list[list[date]] = []
    for day in sorted(set(days)):
        if runs and day - runs[-1][-1] == timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    return [(run[0], run[-1]) for run in runs]
