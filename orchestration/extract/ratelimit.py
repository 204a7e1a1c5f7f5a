"""Client-side rate limits: one token bucket per (seller, operation) at Amazon's published rate and burst.

Amazon meters every operation per selling-partner-and-application pair, so each seller gets its own
bucket per operation and sellers never slow each other down. The buckets are pyrate-limiter token
buckets (GCRA) in this process; across processes the Dagster run queue keeps one extraction run per
tenant at a time (dagster.yaml), and a 429 that still happens (another client of the same seller, a
restarted process with a full bucket) is retried with jittered backoff by `reports.call_api`.

`RETKEE_SPAPI_RATE_SCALE` multiplies every refill interval and the report polling intervals
(extract/reports.py) (default 1.0, Amazon's real clock). It exists for test doubles and replay that run
faster than real time: 0.01 makes the buckets refill, and reports get polled, 100x faster.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from pyrate_limiter import Limiter, Rate, StateBucket, TokenBucket


@dataclass(frozen=True)
class UsagePlan:
    rate_per_second: float
    burst: int


# Amazon's published usage plans (docs/amazon/spapi-reference.md, the API models).
USAGE_PLANS: dict[str, UsagePlan] = {
    "createReport": UsagePlan(0.0167, 15),
    "getReport": UsagePlan(2.0, 15),
    "getReports": UsagePlan(0.0222, 10),
    "cancelReport": UsagePlan(0.0222, 10),
    "getReportDocument": UsagePlan(0.0167, 15),
    "listFinancialEvents": UsagePlan(0.5, 30),
    "listFinancialEventGroups": UsagePlan(0.5, 30),
    "listTransactions": UsagePlan(0.5, 10),
    "getInventorySummaries": UsagePlan(2.0, 2),
    "getShipments": UsagePlan(2.0, 30),
    # Data Kiosk 2023-11-15 (docs/amazon/spapi-limits.md section 3)
    "createQuery": UsagePlan(0.0167, 15),
    "getQueries": UsagePlan(0.0222, 10),
    "getQuery": UsagePlan(2.0, 15),
    "cancelQuery": UsagePlan(0.0222, 10),
    "getDocument": UsagePlan(0.0167, 15),
}


def rate_scale() -> float:
    value = float(os.environ.get("RETKEE_SPAPI_RATE_SCALE", "1.0"))
    if not 0 < value <= 1000:
        raise ValueError(f"RETKEE_SPAPI_RATE_SCALE must be a positive factor, got {value}")
    return value


def bucket_rate(plan: UsagePlan, scale: float = 1.0) -> Rate:
    """One token every 1/rate seconds (times the scale), holding at most `burst` tokens."""
    interval_ms = max(1, round(1000.0 * scale / plan.rate_per_second))
    return Rate(1, interval_ms, burst=plan.burst)


class SellerRateLimits:
    """The buckets of this process, created on first use per (seller key, operation)."""

    def __init__(self, scale: float | None = None) -> None:
        self._scale = scale
        self._limiters: dict[tuple[str, str], Limiter] = {}
        self._lock = threading.Lock()

    def limiter(self, seller_key: str, operation: str) -> Limiter | None:
        plan = USAGE_PLANS.get(operation)
        if plan is None:
            return None  # not a metered operation (e.g. the presigned document download)
        with self._lock:
            limiter = self._limiters.get((seller_key, operation))
            if limiter is None:
                scale = self._scale if self._scale is not None else rate_scale()
                bucket = StateBucket([bucket_rate(plan, scale)], algorithm=TokenBucket())
                limiter = Limiter(bucket, buffer_ms=5)
                self._limiters[(seller_key, operation)] = limiter
            return limiter

    def acquire(self, seller_key: str, operation: str) -> None:
        """Block until the seller's bucket for `operation` has a token."""
        limiter = self.limiter(seller_key, operation)
        if limiter is not None:
            limiter.try_acquire(f"{seller_key}:{operation}", blocking=True)


RATE_LIMITS = SellerRateLimits()
