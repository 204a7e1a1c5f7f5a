"""How work is cut: one partition per tenant (dynamic, pseudonymous ids) and, for time-based data, per UTC day."""

from __future__ import annotations

from dagster import DailyPartitionsDefinition, DynamicPartitionsDefinition, MultiPartitionsDefinition

TENANTS = DynamicPartitionsDefinition(name="tenants")
# Sales and traffic reach back two years, the furthest of any dataset; nothing older is ever asked for.
# end_offset=1: today is a partition too, because snapshots (inventory, listings, fees) can only be taken
# of the present day.
DAYS = DailyPartitionsDefinition(start_date="2024-11-01", timezone="UTC", end_offset=1)
TENANT_DAYS = MultiPartitionsDefinition({"tenant": TENANTS, "day": DAYS})
