"""The operator's lifecycle rules (orchestration/tenants/lifecycle.py), decided from the tenant's state alone: who
gets a refresh, an analyst login or a cost import, and what changing a status to the one it has does."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from orchestration.tenants.lifecycle import change_status, check_analyst_access, require_active, tenants_to_refresh
from orchestration.tenants.registry import Tenant, TenantError

NOW = datetime(2026, 11, 20, tzinfo=UTC)


def tenant(tenant_id: str, status: str) -> Tenant:
    return Tenant(tenant_id, "A1SELLER00001", "na", ["ATVPDKIKX0DER"], status, None, NOW, NOW, None)


class Registry:
    """The registry's interface over a dict (the real one is tested against PostgreSQL in tests/integration)."""

    def __init__(self, *tenants: Tenant) -> None:
        self.tenants = {t.tenant_id: t for t in tenants}

    def get(self, tenant_id: str) -> Tenant:
        if tenant_id not in self.tenants:
            raise TenantError(f"no tenant {tenant_id}")
        return self.tenants[tenant_id]

    def list(self, status: str | None = None) -> list[Tenant]:
        return [t for t in self.tenants.values() if status in (None, t.status)]

    def set_status(self, tenant_id: str, status: str, reason: str) -> Tenant:
        self.tenants[tenant_id] = replace(self.get(tenant_id), status=status, status_reason=reason)
        return self.tenants[tenant_id]


def test_a_refresh_runs_for_every_active_tenant_or_the_named_ones_and_refuses_none():
    registry = Registry(tenant("t000000000001", "active"), tenant("t000000000002", "revoked"),
                        tenant("t000000000003", "active"))
    assert tenants_to_refresh(registry, []) == ["t000000000001", "t000000000003"]
    assert tenants_to_refresh(registry, ["t000000000002"]) == ["t000000000002"]
    with pytest.raises(TenantError, match="no tenant t000000000009"):
        tenants_to_refresh(registry, ["t000000000009"])
    with pytest.raises(TenantError, match="no active tenants"):
        tenants_to_refresh(Registry(tenant("t000000000002", "revoked")), [])


def test_revoking_a_revoked_tenant_changes_nothing_and_says_so():
    registry = Registry(tenant("t000000000001", "active"))
    first = change_status(registry, "t000000000001", "revoked", "seller withdrew")
    again = change_status(registry, "t000000000001", "revoked", "seller withdrew")
    assert first.changed and (first.before.status, first.after.status) == ("active", "revoked")
    assert not again.changed


@pytest.mark.parametrize(("status", "refusal"), [
    ("erased", "is erased: its marts and analyst logins are gone"),
    ("revoked", "is revoked: analysts get no new login"),
    ("terminated", "is terminated: analysts get no new login"),
])
def test_analysts_get_logins_for_active_tenants_only(status, refusal):
    assert check_analyst_access(tenant("t000000000001", "active")).status == "active"
    with pytest.raises(TenantError, match=refusal):
        check_analyst_access(tenant("t000000000001", status))


def test_only_an_active_tenants_costs_are_imported():
    assert require_active(tenant("t000000000001", "active"), "its costs are not imported").status == "active"
    with pytest.raises(TenantError, match="is terminated; its costs are not imported"):
        require_active(tenant("t000000000001", "terminated"), "its costs are not imported")
