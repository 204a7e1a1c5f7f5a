"""Token-bucket throttling per (seller, application, operation) with Amazon's published rates and bursts."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class UsagePlan:
    rate: float  # requests per second, as Amazon publishes it (and sends in x-amzn-RateLimit-Limit)
    burst: int

    @property
    def header(self) -> str:
        return f"{self.rate:g}"


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


class RateLimiter:
    """Buckets start full; with time-scale s a bucket refills at ``rate / s`` tokens per real second."""

    def __init__(self, time_scale: float = 1.0, clock=time.monotonic):
        self.time_scale = time_scale
        self._clock = clock
        self._buckets: dict[tuple[str, str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def try_acquire(self, seller_id: str, client_id: str, operation: str) -> bool:
        plan = USAGE_PLANS[operation]
        key = (seller_id, client_id, operation)
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(plan.burst), now))
            tokens = min(float(plan.burst), tokens + (now - last) * plan.rate / self.time_scale)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            return allowed
