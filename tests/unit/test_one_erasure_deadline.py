"""One erasure deadline: the compliance report, the deadline asset check and the erasure sensor agree.

A tenant revoked or terminated without a recorded request time (a row from before requests were recorded, or a
status set by hand) once had two deadlines: the report counted 30 days from its status change, the asset check
from "now" (a deadline that slides forever, so never missed) and the sensor never erased it at all. Now both ask
retain/policy.py, which starts the clock at the status change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orchestration.tenants.registry import Tenant

TENANT = "t0123456789ab"


def _terminated(days_ago: int, requested: bool) -> Tenant:
    left = datetime.now(UTC) - timedelta(days=days_ago)
    return Tenant(TENANT, None, "na", ["ATVPDKIKX0DER"], "terminated", "subscription ended",
                  left - timedelta(days=90), left, left if requested else None)


def _report_says_overdue(tenant: Tenant) -> bool:
    from orchestration.compliance.evidence import erasure_deadlines

    states = {tenant.status: [{"tenant_id": tenant.tenant_id, "since": tenant.status_changed_at,
                               "erasure_requested_at": tenant.erasure_requested_at}]}
    [row] = erasure_deadlines(states, datetime.now(UTC))
    return row.overdue


def _check_says_missed(tenant: Tenant) -> bool:
    from orchestration.defs.retention import deadlines_result

    # The verdict the asset check returns over the revoked and terminated tenants it lists from the registry.
    result = deadlines_result([tenant], datetime.now(UTC))
    return result.metadata["deadline_missed"].value == TENANT


def test_a_tenant_terminated_40_days_ago_without_a_request_time_is_overdue_for_report_and_check_alike():
    tenant = _terminated(40, requested=False)
    assert _report_says_overdue(tenant)
    assert _check_says_missed(tenant)


def test_report_and_check_agree_on_either_side_of_the_deadline():
    for days_ago in (5, 29, 31):
        for requested in (True, False):
            tenant = _terminated(days_ago, requested)
            assert _report_says_overdue(tenant) == _check_says_missed(tenant) == (days_ago > 30), (days_ago, requested)


def test_the_sensor_rule_makes_a_tenant_without_a_request_time_due():
    from orchestration.retain.policy import DEFAULT_GRACE, erasure_clock_start, is_due

    tenant = _terminated(2, requested=False)
    clock = erasure_clock_start(tenant.erasure_requested_at, tenant.status_changed_at)
    assert clock == tenant.status_changed_at
    assert is_due(tenant.status, clock, datetime.now(UTC), DEFAULT_GRACE, on_request=False)
