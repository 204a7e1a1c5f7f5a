"""How work is cut: one partition per tenant (dynamic, pseudonymous ids) and, for time-based data, per UTC day."""

from __future__ import annotations

from datetime import UTC, datetime

from dagster import DailyPartitionsDefinition, DynamicPartitionsDefinition, MultiPartitionsDefinition

from orchestration.retain.caps import partitions_start

TENANTS = DynamicPartitionsDefinition(name="tenants")
# The first day is the oldest day any dataset may still hold (today minus the largest retention cap,
# docs/retention.md): a day older than every cap is never requested again. It moves with the day the code
# location loads; a cap setting the policy refuses stops the code location here, before any run.
# end_offset=1: today is a partition too, because snapshots (inventory, listings, fees) can only be taken
# of the present day.
DAYS = DailyPartitionsDefinition(
    start_date=partitions_start(datetime.now(UTC).date()).isoformat(), timezone="UTC", end_offset=1
)
TENANT_DAYS = MultiPartitionsDefinition({"tenant": TENANTS, "day": DAYS})
