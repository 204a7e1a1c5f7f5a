"""Lifecycle deadlines: the 30-day ceiling holds whatever is configured."""

from datetime import UTC, datetime, timedelta

import pytest

from orchestration.retain.policy import (
    DEFAULT_GRACE,
    GRACE_ENV,
    HARD_CEILING,
    MAX_GRACE,
    PolicyError,
    deadline_status,
    effective_grace,
    erasure_deadline,
    erasure_due_at,
    grace_from_env,
    is_due,
    pii_purge_due,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_default_grace_is_short():
    assert grace_from_env({}) == DEFAULT_GRACE <= timedelta(days=1)


def test_grace_beyond_the_ceiling_is_clamped_so_erasure_still_starts_before_the_deadline():
    assert grace_from_env({GRACE_ENV: str(24 * 365)}) == MAX_GRACE
    assert effective_grace(timedelta(days=400)) == MAX_GRACE
    assert erasure_due_at(T0, timedelta(days=400), on_request=False) < erasure_deadline(T0)


def test_ceiling_is_thirty_days():
    assert HARD_CEILING == timedelta(days=30)
    assert erasure_deadline(T0) == T0 + timedelta(days=30)


@pytest.mark.parametrize("value", ["-1", "soon", "nan", "inf"])
def test_nonsense_grace_settings_are_refused(value):
    with pytest.raises(PolicyError):
        grace_from_env({GRACE_ENV: value})


def test_zero_and_fractional_grace_are_honoured():
    assert grace_from_env({GRACE_ENV: "0"}) == timedelta(0)
    assert grace_from_env({GRACE_ENV: "0.5"}) == timedelta(minutes=30)


def test_a_sellers_own_request_is_due_at_once_whatever_the_grace():
    assert is_due("terminated", T0, T0, timedelta(days=5), on_request=True)
    assert not is_due("terminated", T0, T0, timedelta(days=5), on_request=False)


def test_revoked_tenant_is_due_after_the_grace_period():
    grace = timedelta(hours=2)
    assert not is_due("revoked", T0, T0 + timedelta(hours=1), grace, on_request=False)
    assert is_due("revoked", T0, T0 + timedelta(hours=2), grace, on_request=False)


@pytest.mark.parametrize("status", ["active", "erased"])
def test_active_and_erased_tenants_are_never_due(status):
    assert not is_due(status, T0, T0 + timedelta(days=60), timedelta(0), on_request=True)


def test_deadline_is_ok_then_near_then_missed():
    assert deadline_status("t000000000001", T0, T0 + timedelta(days=1)).state == "ok"
    assert deadline_status("t000000000001", T0, T0 + timedelta(days=28)).state == "near"
    missed = deadline_status("t000000000001", T0, T0 + timedelta(days=30))
    assert missed.state == "missed" and missed.reportable


def test_pii_is_purged_thirty_days_after_delivery_and_not_before():
    assert not pii_purge_due(None, T0)
    assert not pii_purge_due(T0, T0 + timedelta(days=29, hours=23))
    assert pii_purge_due(T0, T0 + timedelta(days=30))
