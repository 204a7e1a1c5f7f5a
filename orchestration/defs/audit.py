"""The access-log sensor: every finished run is copied into `audit.access_log` for incident scoping.

A plain sensor over Dagster's run storage rather than a run-status sensor: it also logs runs that finished
while no daemon was running (`retkee refresh` executes runs in-process), and it is idempotent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dagster import DefaultSensorStatus, Definitions, SensorEvaluationContext, SkipReason, sensor

from orchestration.compliance.access_log import sync_access_log
from orchestration.defs.resources import VaultResource, WarehouseResource


@sensor(
    name="record_access_log",
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Copies every finished run (tenant, assets, data categories, role, outcome) into audit.access_log.",
)
def record_access_log(context: SensorEvaluationContext, warehouse: WarehouseResource, pipeline_vault: VaultResource):
    # Look back a little further than the cursor: a run's update time can precede the previous tick slightly.
    since = datetime.fromisoformat(context.cursor) - timedelta(minutes=5) if context.cursor else None
    started = datetime.now(UTC)
    with warehouse.connect(pipeline_vault.login()) as conn:
        written = sync_access_log(context.instance, conn, updated_after=since)
    context.update_cursor(started.isoformat())
    return SkipReason(f"logged {written} finished runs")


# The access-log concern of the code location (definitions.py merges it with the others).
audit_definitions = Definitions(sensors=[record_access_log])
