"""When a tenant's data must be gone: the lifecycle deadlines, as pure functions of timestamps.

A tenant that is revoked or terminated is erased after a grace period (short by default, configurable) and in
any case within 30 days of the request: that ceiling is law for us, not a setting, so a configured grace
period beyond it is clamped, never honoured. A seller who asks for deletion is erased at once (no grace).
PII that a future feature must hold is purged 30 days after delivery by the same machinery.

Age caps (Amazon's Data Protection Policy, effective 2025-11-25): no partition of Amazon data is kept longer
than AMAZON_MAX_AGE_MONTHS unless a statute requires longer, and then only with that statute recorded
(`LegalBasis`) in the dataset catalogue; an operator may only lower a cap. Logs (the access log, the
retention records) are kept at least LOG_MIN_RETENTION_MONTHS and pruned after a configurable period.
"""

from __future__ import annotations

import os
from calendar import monthrange
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from orchestration.errors import RetkeeError

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


# Amazon DPP (docs/amazon/spapi-limits.md, section 6): non-PII Amazon data is kept at most this many months,
# unless the law requires longer. The one home of this fact: the catalogue's default, the partitions' start,
# the daily removal, the asset check and the compliance report all read it from here.
AMAZON_MAX_AGE_MONTHS = 18
# Amazon DPP: logs are kept at least this long. The access log and the retention records are logs.
LOG_MIN_RETENTION_MONTHS = 12
# One month beyond the floor, so a prune that runs late or a clock that is off never cuts into it.
DEFAULT_LOG_RETENTION_MONTHS = 13

MAX_AGE_ENV = "RETKEE_RETENTION_MONTHS"  # every dataset without a legal basis
MAX_AGE_DATASET_ENV_PREFIX = "RETKEE_RETENTION_MONTHS_"  # + the dataset name in capitals: that dataset only
LOG_RETENTION_ENV = "RETKEE_LOG_RETENTION_MONTHS"


class PolicyError(RetkeeError, ValueError):
    """A retention setting that cannot be right (negative, not a number)."""


class RetentionCapRefused(PolicyError):
    """A maximum age above what the policy allows: above Amazon's 18 months without a legal basis, or above
    what the recorded statute requires. Carries the facts, so callers never parse the message."""

    def __init__(self, *, dataset: str, months: int, ceiling: int, where: str, legal_basis: LegalBasis | None):
        self.dataset, self.months, self.ceiling, self.where, self.legal_basis = (
            dataset, months, ceiling, where, legal_basis)
        if legal_basis is None:
            why = (f"Amazon allows at most {AMAZON_MAX_AGE_MONTHS} months for non-PII data unless the law "
                   "requires longer, and no legal basis is recorded for it (orchestration/load/datasets.py, "
                   "`legal_basis`)")
        else:
            why = f"its legal basis ({legal_basis.statute}) requires keeping it {legal_basis.months} months, no more"
        super().__init__(f"{where}: {dataset} cannot be kept {months} months: {why}; at most {ceiling}")


@dataclass(frozen=True)
class LegalBasis:
    """The statute that requires a dataset to be kept longer than Amazon's 18 months, as the compliance
    report shows it: which law, for what purpose, for how long."""

    statute: str  # e.g. "26 U.S.C. 6001; 26 CFR 1.6001-1(e)"
    purpose: str  # e.g. "tax records of the seller's payouts"
    months: int  # how long the statute requires the records kept

    def __str__(self) -> str:
        return f"{self.statute}: {self.purpose} ({self.months} months)"


def max_age_ceiling(legal_basis: LegalBasis | None) -> int:
    """The longest a dataset may be kept: Amazon's cap, or the recorded statute's period."""
    return AMAZON_MAX_AGE_MONTHS if legal_basis is None else max(legal_basis.months, AMAZON_MAX_AGE_MONTHS)


def check_max_age(dataset: str, months: int, legal_basis: LegalBasis | None, where: str = "catalogue") -> int:
    """`months` if the policy allows it for this dataset; RetentionCapRefused (or PolicyError) if not."""
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise PolicyError(f"{where}: the maximum age of {dataset} must be a whole number of months >= 1, "
                          f"not {months!r}")
    ceiling = max_age_ceiling(legal_basis)
    if months > ceiling:
        raise RetentionCapRefused(dataset=dataset, months=months, ceiling=ceiling, where=where,
                                  legal_basis=legal_basis)
    return months


def months_before(day: date, months: int) -> date:
    """The same day of the month `months` calendar months earlier (the month's last day if it is shorter:
    18 months before 2026-08-31 is 2025-02-28)."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def oldest_day_kept(today: date, months: int) -> date:
    """The first day a cap of `months` keeps: a day before it is older than the cap and must be gone."""
    return months_before(today, months)


def months_setting(name: str, value: str) -> int:
    """A setting that counts whole months, checked: a clear error names the setting and the value."""
    try:
        months = int(value.strip())
    except ValueError:
        raise PolicyError(f"{name} must be a whole number of months, not {value!r}") from None
    if months < 1:
        raise PolicyError(f"{name} must be at least 1 month, not {value!r}")
    return months


def log_retention_months(environ: Mapping[str, str] | None = None) -> int:
    """RETKEE_LOG_RETENTION_MONTHS (default 13): how long the access log and retention records are kept
    before they are pruned. Below Amazon's 12-month floor is refused, never clamped: it is the law."""
    value = (os.environ if environ is None else environ).get(LOG_RETENTION_ENV)
    if value is None or value.strip() == "":
        return DEFAULT_LOG_RETENTION_MONTHS
    months = months_setting(LOG_RETENTION_ENV, value)
    if months < LOG_MIN_RETENTION_MONTHS:
        raise PolicyError(f"{LOG_RETENTION_ENV}={value}: logs must be kept at least {LOG_MIN_RETENTION_MONTHS} "
                          "months (Amazon Data Protection Policy); set 12 or more")
    return months


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


def erasure_clock_start(erasure_requested_at: datetime | None, status_changed_at: datetime) -> datetime:
    """When a revoked or terminated tenant's 30 days began: its recorded request, else the moment it left
    `active` (a row from before requests were recorded, or a status set by hand). Never "now": a clock that
    starts at every look never runs out, and the tenant would never be due nor overdue."""
    return erasure_requested_at if erasure_requested_at is not None else status_changed_at


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
