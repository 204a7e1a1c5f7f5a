"""When a tenant's data must be gone: the lifecycle deadlines, as pure functions of timestamps.

A tenant that is revoked or terminated is erased after a grace period (short by default, configurable) and in
any case within 30 days of the request: that ceiling is law for us, not a setting, so a configured grace
period beyond it is clamped, never honoured. A seller who asks for deletion is erased at once (no grace).
PII that a future feature must hold is purged 30 days after delivery by the same machinery.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

# Erasure must be complete within this time of the request (revocation, termination or the seller's ask).
HARD_CEILING = timedelta(days=30)
# Erasure starts at the latest this long before the ceiling, so a failed attempt still has time to be retried.
RETRY_RESERVE = timedelta(days=1)
MAX_GRACE = HARD_CEILING - RETRY_RESERVE
# Short by default: long enough for in-flight runs to end, short enough that nobody relies on the data.
DEFAULT_GRACE = timedelta(hours=1)
# A tenant not erased this close to its deadline is reported (asset check, sensor log).
DEADLINE_WARNING = timedelta(days=3)
# Personal data held for fulfilment (multi-channel fulfilment orders) lives this long after delivery.
PII_RETENTION_AFTER_DELIVERY = timedelta(days=30)

GRACE_ENV = "RETKEE_ERASURE_GRACE_HOURS"
ERASABLE_STATUSES = ("revoked", "terminated")


class PolicyError(ValueError):
    """A retention setting that cannot be right (negative, not a number)."""


def effective_grace(configured: timedelta | None) -> timedelta:
    """The grace period actually applied: the configured one, never negative, never beyond MAX_GRACE."""
    if configured is None:
        return DEFAULT_GRACE
    if configured < timedelta(0):
        raise PolicyError(f"the erasure grace period cannot be negative ({configured})")
    return min(configured, MAX_GRACE)


def grace_from_env(environ: Mapping[str, str] | None = None) -> timedelta:
    """RETKEE_ERASURE_GRACE_HOURS (a number, may be 0 or fractional); default DEFAULT_GRACE; clamped."""
    value = (os.environ if environ is None else environ).get(GRACE_ENV)
    if value is None or value.strip() == "":
        return DEFAULT_GRACE
    try:
        hours = float(value)
    except ValueError:
        raise PolicyError(f"{GRACE_ENV} must be a number of hours, not {value!r}") from None
    if hours != hours or hours in (float("inf"), float("-inf")):  # NaN or infinite
        raise PolicyError(f"{GRACE_ENV} must be a finite number of hours, not {value!r}")
    if hours < 0:
        raise PolicyError(f"{GRACE_ENV} cannot be negative ({value})")
    return effective_grace(timedelta(hours=min(hours, MAX_GRACE.total_seconds() / 3600)))


def erasure_deadline(requested_at: datetime) -> datetime:
    """The moment by which every trace of the tenant must be gone."""
    return requested_at + HARD_CEILING


def erasure_due_at(requested_at: datetime, grace: timedelta, *, on_request: bool) -> datetime:
    """When the sensor launches the erasure: at once for a seller's own request, else after the grace period."""
    return requested_at if on_request else requested_at + effective_grace(grace)


@dataclass(frozen=True)
class DeadlineStatus:
    tenant_id: str
    requested_at: datetime
    deadline: datetime
    state: str  # "ok", "near" (within DEADLINE_WARNING) or "missed"

    @property
    def reportable(self) -> bool:
        return self.state != "ok"


def deadline_status(tenant_id: str, requested_at: datetime, now: datetime,
                    warning: timedelta = DEADLINE_WARNING) -> DeadlineStatus:
    """Where an unerased tenant stands against its 30-day deadline."""
    deadline = erasure_deadline(requested_at)
    if now >= deadline:
        state = "missed"
    elif deadline - now <= warning:
        state = "near"
    else:
        state = "ok"
    return DeadlineStatus(tenant_id, requested_at, deadline, state)


def is_due(status: str, requested_at: datetime | None, now: datetime, grace: timedelta, *,
           on_request: bool) -> bool:
    """Whether a tenant in `status` must be erased now."""
    if status not in ERASABLE_STATUSES or requested_at is None:
        return False
    return now >= erasure_due_at(requested_at, grace, on_request=on_request)


def pii_purge_due(delivered_at: datetime | None, now: datetime) -> bool:
    """PII of a delivered fulfilment order is purged 30 days after delivery; undelivered PII stays."""
    return delivered_at is not None and now >= delivered_at + PII_RETENTION_AFTER_DELIVERY
