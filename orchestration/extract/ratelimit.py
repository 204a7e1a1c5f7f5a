"""Client-side SP-API quotas: token buckets per (seller, operation) and (application, operation), shared by all workers.

Amazon meters every operation per selling-partner-and-application pair, at the operation's published rate and
burst (USAGE_PLANS): each seller has its own bucket per operation, so sellers never slow each other down. A few
limits are counted per application across all of its sellers (APPLICATION_CAPS): since 2026-04-24 Amazon
accepts a GET_SALES_AND_TRAFFIC_REPORT createReport once per 15 minutes per application, 96 a day
(docs/amazon/spapi-limits.md §1). A call takes its seller's token first, then the application's slot, and goes
out at once, so the slot is spent as close to Amazon's count as it can be.

The buckets are pyrate-limiter's token buckets (GCRA, `StateBucket` + `TokenBucket`). `SharedQuotas` keeps their
state in PostgreSQL (extract/quota_store.py, schema `spapi_quota`), so every process, Dagster run and worker draws
from the same buckets; that is what the pipeline uses (`RETKEE_SPAPI_QUOTAS=shared`, the default).
`InProcessQuotas` keeps them in this process only: for pure unit tests, or one process alone against the API
(`RETKEE_SPAPI_QUOTAS=in-process`). A 429 that still happens (another client of the same seller, a clock step) is
retried with jittered backoff by `reports.call_api`.

`RETKEE_SPAPI_RATE_SCALE` multiplies every refill interval and the report polling intervals (extract/reports.py)
(default 1.0, Amazon's real clock). It exists for test doubles and replay that run faster than real time: 0.01
makes the buckets refill, and reports get polled, 100x faster. Every process sharing the buckets must use the
same scale.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from functools import lru_cache

from pyrate_limiter import Limiter, Rate, SingleBucketFactory, StateBucket, TokenBucket
from pyrate_limiter.abstracts.rate import RateItem

from orchestration.extract.errors import ApplicationCapReached


@dataclass(frozen=True)
class UsagePlan:
    rate_per_second: float
    burst: int


# Amazon's published usage plans per seller and application (docs/amazon/spapi-reference.md, spapi-limits.md §3,
# the API models).
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
    """A limit Amazon counts per application (one LWA app), across all of its sellers."""

    every_seconds: float  # at most one call per this many seconds
    per_day: int
    what: str

    def describe(self) -> str:
        return f"{self.what}: once per {self.every_seconds / 60:g} minutes, {self.per_day} a day, for all sellers"


# (operation, report type) -> cap. docs/amazon/spapi-limits.md §1.
APPLICATION_CAPS: dict[tuple[str, str], ApplicationCap] = {
    ("createReport", "GET_SALES_AND_TRAFFIC_REPORT"): ApplicationCap(
        900.0, 96, "GET_SALES_AND_TRAFFIC_REPORT createReport per application"),
}
# The cap is spent client-side a moment before Amazon counts the call; this much more spacing keeps two workers'
# calls apart at Amazon even when the first one's request is slow to arrive.
CAP_MARGIN = 0.01
# A token is spent a moment before Amazon counts the call (the commit, the HTTPS request), and two workers' calls
# can reach Amazon in another order than they took their tokens. So each bucket keeps back what refills in
# ARRIVAL_JITTER_SECONDS of real time (at most one token): calls that arrive that much out of order still find a
# token at Amazon's end. A token is UNITS_PER_TOKEN units of the bucket, so the reserve can be a fraction of one
# (at Amazon's pace, 0.5 s of createReport's 60 s refill is 1 % of a token).
UNITS_PER_TOKEN = 1000
ARRIVAL_JITTER_SECONDS = 0.5
DEFAULT_CAP_MAX_WAIT_SECONDS = 3600.0  # Amazon seconds; then the call gives up with ApplicationCapReached
BUFFER_MS = 5  # pyrate-limiter's pause past the computed wait before it tries again


def rate_scale() -> float:
    value = float(os.environ.get("RETKEE_SPAPI_RATE_SCALE", "1.0"))
    if not 0 < value <= 1000:
        raise ValueError(f"RETKEE_SPAPI_RATE_SCALE must be a positive factor, got {value}")
    return value


def cap_max_wait_seconds() -> float:
    """How long (Amazon seconds) a call waits for its application's next slot before it gives up."""
    raw = os.environ.get("RETKEE_SPAPI_APP_CAP_MAX_WAIT_S", str(DEFAULT_CAP_MAX_WAIT_SECONDS))
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"RETKEE_SPAPI_APP_CAP_MAX_WAIT_S must be a number of seconds, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"RETKEE_SPAPI_APP_CAP_MAX_WAIT_S must not be negative, got {value}")
    return value


def _interval_ms(seconds: float, scale: float) -> int:
    # Rounded up (never faster than the plan); the epsilon keeps a float like 5.000000001 at 5.
    return max(1, math.ceil(1000.0 * seconds * scale - 1e-6))


def bucket_rate(plan: UsagePlan, scale: float = 1.0) -> Rate:
    """One token (UNITS_PER_TOKEN units) every 1/rate seconds (times the scale), holding at most `burst` tokens
    less the reserve for calls arriving out of order (see ARRIVAL_JITTER_SECONDS)."""
    refill_seconds = scale / plan.rate_per_second
    reserve = min(UNITS_PER_TOKEN, math.ceil(UNITS_PER_TOKEN * ARRIVAL_JITTER_SECONDS / refill_seconds))
    return Rate(UNITS_PER_TOKEN, _interval_ms(1.0 / plan.rate_per_second, scale),
                burst=max(UNITS_PER_TOKEN, plan.burst * UNITS_PER_TOKEN - reserve))


def cap_rates(cap: ApplicationCap, scale: float = 1.0) -> list[Rate]:
    """One call per interval (with CAP_MARGIN), no burst. That alone keeps a day under `per_day` whenever the day
    holds no more intervals than that (96 x 15 minutes is 24 hours); a cap with a tighter daily count would need
    a second, daily rate."""
    if cap.per_day * cap.every_seconds < 86400.0:
        raise ValueError(f"{cap.what}: a daily count tighter than the interval needs a daily rate of its own")
    return [Rate(1, _interval_ms(cap.every_seconds * (1 + CAP_MARGIN), scale), burst=1)]


def seller_bucket(seller_key: str, operation: str) -> str:
    return f"seller:{seller_key}:{operation}"


def application_bucket(application: str, operation: str, report_type: str) -> str:
    return f"application:{application}:{operation}:{report_type}"


class Quotas:
    """Token buckets by name, made on first use; subclasses say where a bucket's state lives."""

    def __init__(self, scale: float | None = None) -> None:
        self._scale = scale
        self._limiters: dict[str, tuple[Limiter, StateBucket]] = {}
        self._lock = threading.Lock()

    @property
    def scale(self) -> float:
        return self._scale if self._scale is not None else rate_scale()

    def _bucket(self, name: str, rates: list[Rate]) -> StateBucket:
        raise NotImplementedError

    def _limiter(self, name: str, rates: list[Rate]) -> tuple[Limiter, StateBucket]:
        """The bucket's limiter, with no leak thread: pyrate-limiter would start one per bucket, forever (12 per
        seller), waking every 10 s to read the bucket's clock (a database query for a shared bucket), for a leak
        that a token bucket's constant state never needs."""
        with self._lock:
            found = self._limiters.get(name)
            if found is None:
                bucket = self._bucket(name, rates)
                unleaked = SingleBucketFactory(bucket, schedule_leak=False)
                found = self._limiters[name] = (Limiter(unleaked, buffer_ms=BUFFER_MS), bucket)
            return found

    def acquire(
        self, seller_key: str, operation: str, *, application: str | None = None, report_type: str | None = None
    ) -> None:
        """Block until the seller's bucket for `operation` has a token and, for a call the application's cap
        counts, until the application has a slot; ApplicationCapReached when that slot is too far away."""
        plan = USAGE_PLANS.get(operation)
        if plan is None:
            return  # not a metered operation (e.g. the presigned document download)
        name = seller_bucket(seller_key, operation)
        limiter, _ = self._limiter(name, [bucket_rate(plan, self.scale)])
        limiter.try_acquire(name, weight=UNITS_PER_TOKEN, blocking=True)
        cap = APPLICATION_CAPS.get((operation, report_type or ""))
        if cap is not None:
            if application is None:
                raise ValueError(f"{cap.what}: the application's bucket needs the application (its client id)")
            self._take_application_slot(application, operation, report_type, cap)

    def _take_application_slot(self, application: str, operation: str, report_type: str, cap: ApplicationCap) -> None:
        name = application_bucket(application, operation, report_type)
        limiter, bucket = self._limiter(name, cap_rates(cap, self.scale))
        max_wait = cap_max_wait_seconds() * self.scale
        with limiter.lock:  # the same lock the limiter holds around its own puts
            decision = bucket.put_decision(RateItem(name, bucket.now(), 1))
        if decision.allowed:
            return
        wait = (decision.retry_after_ms or 0) / 1000
        # Other workers may take the slots meanwhile: the limiter gives up at the deadline either way.
        if wait > max_wait or not limiter.try_acquire(name, blocking=True, timeout=max_wait):
            raise ApplicationCapReached(
                f"{cap.describe()}: the application's next slot is more than {max_wait / self.scale / 60:g} "
                f"Amazon-minutes away (RETKEE_SPAPI_APP_CAP_MAX_WAIT_S); more sellers want this report than the "
                "cap allows, take sales and traffic from Data Kiosk or retry the partition later")


class InProcessQuotas(Quotas):
    """Buckets in this process's memory: right only while this process is the only one calling the API (pure unit
    tests, a one-off script); every other process has buckets of its own."""

    def _bucket(self, name: str, rates: list[Rate]) -> StateBucket:
        return StateBucket(rates, algorithm=TokenBucket())


class SharedQuotas(Quotas):
    """Buckets whose state is a row in PostgreSQL (`spapi_quota.token_buckets`), on the database's clock: every
    process and worker that opens them with the same database draws from the same tokens."""

    def __init__(self, pool, scale: float | None = None) -> None:
        super().__init__(scale)
        self.pool = pool

    def _bucket(self, name: str, rates: list[Rate]) -> StateBucket:
        from orchestration.extract.quota_store import PostgresStateStore

        store = PostgresStateStore(self.pool, name)
        return StateBucket(rates, algorithm=TokenBucket(), store=store, clock=store.default_clock)


QUOTA_MODES = ("shared", "in-process")


def quota_mode() -> str:
    mode = os.environ.get("RETKEE_SPAPI_QUOTAS", "shared")
    if mode not in QUOTA_MODES:
        raise ValueError(f"RETKEE_SPAPI_QUOTAS must be one of {', '.join(QUOTA_MODES)}, got {mode!r}")
    return mode


@lru_cache(maxsize=1)
def in_process_quotas() -> InProcessQuotas:
    return InProcessQuotas()


_SHARED: dict[str, SharedQuotas] = {}
_SHARED_LOCK = threading.Lock()


def shared_quotas(conninfo: str) -> SharedQuotas:
    """The process's shared buckets for the database `conninfo` names (a small pool, opened once per process)."""
    with _SHARED_LOCK:
        quotas = _SHARED.get(conninfo)
        if quotas is None:
            from psycopg_pool import ConnectionPool

            from orchestration.extract.quota_store import forget_idle_buckets
            from orchestration.warehouse.liveness import refuse_if_closed

            # Threads of one process (a tenant's extractions side by side) each hold a connection only for the
            # few milliseconds of a check; waits happen outside the pool. The pool lives as long as the process,
            # so a connection is looked at before each use: after a PostgreSQL restart every one is dead.
            pool = ConnectionPool(conninfo, min_size=1, max_size=4, open=True, name="spapi-quotas",
                                  check=refuse_if_closed)
            pool.wait(timeout=30)
            forget_idle_buckets(pool)
            quotas = _SHARED[conninfo] = SharedQuotas(pool)
        return quotas
