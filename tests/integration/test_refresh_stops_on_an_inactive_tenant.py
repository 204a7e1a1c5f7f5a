"""A refresh stops at a tenant's first day when the tenant is no longer active, whatever the status is called:
the extraction says why in its failure's metadata, and refresh reads that, not the message's words (it used to
match "revoked" or "terminated" in the text, so an erased tenant had every remaining day tried, and failed)."""

from __future__ import annotations

import pytest

from tests.integration.conftest import settled_days

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("path", [("revoked",), ("terminated", "erased")], ids=["revoked", "erased"])
def test_refresh_tries_one_day_of_a_tenant_that_is_not_active(onboard, settings, instance, path):
    from orchestration.defs.resources import open_session
    from orchestration.refresh import refresh

    _, tenant = onboard(f"A1STOPPED{path[-1].upper()[:5]}")
    with open_session(settings) as session:
        for status in path:
            session.registry.set_status(tenant.tenant_id, status, "test")
    report = refresh([tenant.tenant_id], settled_days(3), instance=instance, marts=False)
    assert report.succeeded == []
    assert len(report.failed) == 1, report.failed
    label, reason = report.failed[0]
    assert label.startswith(f"{tenant.tenant_id} ") and f"is {path[-1]}" in reason
