"""Amazon's throttling: token buckets per (seller, application, operation) at the published rates and bursts, and the
caps Amazon counts per application across all of its sellers (GET_SALES_AND_TRAFFIC_REPORT since 2026-04-24)."""

from __future__ import annotations

import threading
import time
from collections import deque
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


@dataclass(frozen=True)
class ApplicationCap:
    """At most one call per `every_seconds` and `per_day` calls a day, per application, whichever seller calls."""

    every_seconds: float
    per_day: int


# (operation, report type) -> cap (docs/amazon/spapi-limits.md §1): createReport of GET_SALES_AND_TRAFFIC_REPORT is
# accepted once per 15 minutes per application, at most 96 times a day; beyond it, 429 QuotaExceeded.
APPLICATION_CAPS: dict[tuple[str, str], ApplicationCap] = {
    ("createReport", "GET_SALES_AND_TRAFFIC_REPORT"): ApplicationCap(900.0, 96),
}
DAY_SECONDS = 86400.0


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


class ApplicationCaps:
    """The accepted calls per (application, operation, report type) a cap counts, on the sandbox's clock."""

    def __init__(self, time_scale: float = 1.0, clock=time.monotonic):
        self.time_scale = time_scale
        self._clock = clock
        self._accepted: dict[tuple[str, str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def try_acquire(self, client_id: str, operation: str, report_type: str) -> bool:
        cap = APPLICATION_CAPS.get((operation, report_type))
        if cap is None:
            return True
        now = self._clock()
        with self._lock:
            accepted = self._accepted.setdefault((client_id, operation, report_type), deque())
            day = DAY_SECONDS * self.time_scale
            while accepted and now - accepted[0] >= day:
                accepted.popleft()
            if accepted and now - accepted[-1] < cap.every_seconds * self.time_scale:
                return False
            if len(accepted) >= cap.per_day:
                return False
            accepted.append(now)
            return True
