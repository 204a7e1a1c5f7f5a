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


def test_the_step_asks_in_windows_and_one_day_as_before():
    from datetime import timedelta

    from orchestration.defs.extraction import _pieces
    from orchestration.extract.catalogue import EXTRACTIONS

    today = date(2026, 3, 1)
    orders, listings = EXTRACTIONS["orders"], EXTRACTIONS["listings"]
    # One day: one piece per extraction, over that day alone (what ingest_partition asked).
    one = _pieces([orders, listings], [date(2026, 2, 28)], today)
    assert [(p.extraction.name, p.window.first_day, p.window.last_day) for p in one] == [
        ("orders", date(2026, 2, 28), date(2026, 2, 28)), ("listings", date(2026, 2, 28), date(2026, 2, 28))]
    # 60 days of orders: two 30-day reports (Amazon's limit); a snapshot's past days stay one day each (skipped).
    days = [today - timedelta(days=n) for n in range(60, 0, -1)]
    windows = [(p.window.first_day, p.window.last_day) for p in _pieces([orders], days, today)]
    assert windows == [(days[0], days[29]), (days[30], days[59])]
    assert len(_pieces([listings], days, today)) == 60
