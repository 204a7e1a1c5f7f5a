"""Client-side rate limits follow Amazon's published usage plans, per seller and operation."""

import time
from datetime import date

from orchestration.defs.schedules import days_to_request
from orchestration.extract.catalogue import EXTRACTIONS
from orchestration.extract.ratelimit import USAGE_PLANS, SellerRateLimits, bucket_rate


def test_bucket_rates_are_amazons_published_rate_and_burst():
    rate = bucket_rate(USAGE_PLANS["createReport"])
    assert rate.burst == 15 and abs(rate.interval - 1000 / 0.0167) < 1
    assert bucket_rate(USAGE_PLANS["getInventorySummaries"], scale=0.01).interval == 5


def test_a_seller_waits_for_its_own_bucket_while_another_seller_does_not():
    limits = SellerRateLimits(scale=0.05)  # getInventorySummaries: burst 2, then one per 25 ms
    started = time.monotonic()
    for _ in range(6):
        limits.acquire("seller-a", "getInventorySummaries")
    waited = time.monotonic() - started
    assert waited >= 0.09  # 4 tokens beyond the burst at 25 ms each
    started = time.monotonic()
    limits.acquire("seller-b", "getInventorySummaries")
    assert time.monotonic() - started < 0.02


def test_snapshots_are_taken_only_of_today_and_history_limits_hold():
    today = date(2026, 3, 1)
    assert EXTRACTIONS["inventory_summaries"].unreachable(date(2026, 2, 28), today)
    assert EXTRACTIONS["inventory_summaries"].unreachable(today, today) is None
    assert EXTRACTIONS["sales_traffic"].unreachable(date(2024, 2, 1), today)
    assert EXTRACTIONS["settlements"].unreachable(date(2025, 11, 1), today)
    assert EXTRACTIONS["orders"].unreachable(date(2026, 3, 2), today)


def test_the_schedule_catches_up_missed_days_and_always_repulls_yesterday():
    from dagster import MultiPartitionKey

    done = {str(MultiPartitionKey({"tenant": "t0123456789ab", "day": f"2026-02-{d:02d}"})) for d in range(22, 29)}
    done.discard(str(MultiPartitionKey({"tenant": "t0123456789ab", "day": "2026-02-24"})))
    assert days_to_request(date(2026, 3, 1), done, "t0123456789ab") == [date(2026, 2, 24), date(2026, 2, 28)]
