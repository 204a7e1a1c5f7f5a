"""Client-side rate limits follow Amazon's published usage plans, per seller and operation, and the caps Amazon
counts per application (the buckets' logic, in this process; the shared PostgreSQL buckets are tested in
tests/integration/test_shared_quotas.py)."""

import threading
import time
from datetime import date

import pytest

from orchestration.defs.schedules import days_to_request
from orchestration.extract.catalogue import EXTRACTIONS
from orchestration.extract.errors import ApplicationCapReached
from orchestration.extract.ratelimit import USAGE_PLANS, InProcessQuotas, bucket_rate


def test_bucket_rates_are_amazons_published_rate_and_burst():
    rate = bucket_rate(USAGE_PLANS["createReport"])  # a token is 1000 units, refilled every 1/0.0167 s
    assert rate.limit == 1000 and 0 <= rate.interval - 1000 / 0.0167 < 1
    # Amazon's burst of 15, less what refills in half a second (kept back for calls reaching Amazon out of order).
    assert rate.burst == 15 * 1000 - 9  # 0.5 s of a 59.9 s refill is 0.84 % of a token: 9 units
    assert bucket_rate(USAGE_PLANS["getInventorySummaries"], scale=0.01).interval == 5
    assert bucket_rate(USAGE_PLANS["getInventorySummaries"], scale=0.01).burst == 1000  # at most one token back


def test_a_seller_waits_for_its_own_bucket_while_another_seller_does_not():
    limits = InProcessQuotas(scale=0.05)  # getInventorySummaries: burst 2 (1 kept back), then one per 25 ms
    started = time.monotonic()
    for _ in range(6):
        limits.acquire("seller-a", "getInventorySummaries")
    waited = time.monotonic() - started
    assert waited >= 0.09  # at least 4 tokens beyond Amazon's burst, at 25 ms each
    started = time.monotonic()
    limits.acquire("seller-b", "getInventorySummaries")
    assert time.monotonic() - started < 0.02


def test_the_sales_and_traffic_cap_is_per_application_and_says_so_when_too_far(monkeypatch):
    # Once per 15 minutes per application (docs/amazon/spapi-limits.md §1): at scale 0.0001 that is 90 ms.
    monkeypatch.setenv("RETKEE_SPAPI_APP_CAP_MAX_WAIT_S", "1800")  # two slots: 180 ms here
    quotas = InProcessQuotas(scale=0.0001)
    report = "GET_SALES_AND_TRAFFIC_REPORT"
    started = time.monotonic()
    quotas.acquire("app-1:seller-a", "createReport", application="app-1", report_type=report)
    quotas.acquire("app-1:seller-b", "createReport", application="app-1", report_type=report)  # another seller
    waited = time.monotonic() - started
    assert waited >= 0.09  # the second seller waited for the application's next slot
    quotas.acquire("app-2:seller-a", "createReport", application="app-2", report_type=report)  # another app
    quotas.acquire("app-1:seller-a", "createReport", application="app-1",
                   report_type="GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL")  # no cap for orders
    assert time.monotonic() - started - waited < 0.05
    monkeypatch.setenv("RETKEE_SPAPI_APP_CAP_MAX_WAIT_S", "60")  # less than the 15 minutes to the next slot
    with pytest.raises(ApplicationCapReached, match="once per 15 minutes, 96 a day.*Data Kiosk"):
        quotas.acquire("app-1:seller-c", "createReport", application="app-1", report_type=report)


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


def test_buckets_start_no_thread_of_their_own():
    """pyrate-limiter starts a leak thread per limiter unless told not to; a token bucket needs none, and a process
    refreshing thousands of sellers would hold 12 threads per seller, each reading its bucket's clock every 10 s."""
    def leak_threads() -> int:
        return sum(1 for t in threading.enumerate() if "Leaker" in t.name)

    before = leak_threads()
    quotas = InProcessQuotas(scale=0.01)
    for seller in range(20):
        for operation in ("createReport", "getReport", "getInventorySummaries"):
            quotas.acquire(f"seller-{seller}", operation)
    assert leak_threads() == before
