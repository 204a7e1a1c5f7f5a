"""A tenant's day is a few runs, each over a range of its days, not a run per table and day: the daily tables
from the oldest missed day to yesterday, each lookback before that, and today's snapshots."""

from datetime import date

from dagster import AssetKey, MultiPartitionKey

from orchestration.defs.partitions import stretches
from orchestration.defs.schedules import requests_for

TENANT = "t0123456789ab"
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def _key(day: str) -> str:
    return str(MultiPartitionKey({"tenant": TENANT, "day": day}))


def test_the_schedule_asks_a_tenant_for_four_runs_whatever_the_days_missed():
    today = date(2026, 3, 1)
    done = {_key(f"2026-02-{d:02d}") for d in range(1, 29)} - {_key("2026-02-24")}
    requests = requests_for(today, [TENANT], done)
    by_kind = {r.run_key.split("|")[0]: r for r in requests}
    assert len(requests) == 4 and set(by_kind) == {"daily", "lookback", "snapshot"}
    daily = by_kind["daily"]
    # the missed 24th through yesterday, one run; the days between are asked again (a rerun replaces them)
    assert (daily.tags[RANGE_START], daily.tags[RANGE_END]) == (_key("2026-02-24"), _key("2026-02-28"))
    assert daily.tags["retkee/tenant"] == TENANT  # dagster.yaml: one run per tenant at a time
    assert AssetKey(["raw", "orders"]) in daily.asset_selection
    assert AssetKey(["raw", "listings"]) not in daily.asset_selection
    snapshot = by_kind["snapshot"]
    assert snapshot.partition_key == _key("2026-03-01") and AssetKey(["raw", "listings"]) in snapshot.asset_selection
    lookbacks = [r for r in requests if r.run_key.startswith("lookback|")]
    # each lookback ends the day before the daily run begins
    assert {r.tags[RANGE_END] for r in lookbacks} == {_key("2026-02-23")}
    assert {tuple(k.path) for r in lookbacks for k in r.asset_selection} == {
        ("raw", "finance_transactions"), ("raw", "financial_event_groups")}


def test_the_run_keys_differ_per_tenant_and_tick():
    today = date(2026, 3, 1)
    keys = [r.run_key for r in requests_for(today, [TENANT, "t0000000000aa"], set())]
    assert len(keys) == len(set(keys)) == 8


def test_a_refresh_makes_one_run_per_stretch_of_consecutive_days():
    days = [date(2026, 2, d) for d in (3, 1, 2, 5, 7, 6)]
    assert stretches(days) == [(date(2026, 2, 1), date(2026, 2, 3)), (date(2026, 2, 5), date(2026, 2, 7))]
    assert stretches([date(2026, 2, 1)]) == [(date(2026, 2, 1), date(2026, 2, 1))]
