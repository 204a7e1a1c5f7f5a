"""The tenant lifecycle's rules for what an operator may do to a tenant: which status changes, whose data may be
imported, who gets a refresh or an analyst login, how a seller's deletion request is filed.

The states and their order live in registry.py (active -> revoked | terminated -> erased); these rules decide
from them, so a command (cli.py) only says what happened. Every refusal is a TenantError (one line).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from orchestration.retain.certificate import RecordedRequest, check_request_id, record_request
from orchestration.tenants.registry import Tenant, TenantError, TenantRegistry


@dataclass(frozen=True)
class StatusChange:
    before: Tenant
    after: Tenant

    @property
    def changed(self) -> bool:
        return self.before.status != self.after.status


def change_status(registry: TenantRegistry, tenant_id: str, status: str, reason: str) -> StatusChange:
    """Move a tenant to `status` (revoked, terminated); asking for the status it has already changes nothing."""
    before = registry.get(tenant_id)
    return StatusChange(before, registry.set_status(tenant_id, status, reason))


def require_active(tenant: Tenant, refused: str) -> Tenant:
    """Only an active tenant's data is taken in (unit costs, a refresh): `refused` says what is not done."""
    if tenant.status != "active":
        raise TenantError(f"tenant {tenant.tenant_id} is {tenant.status}; {refused}")
    return tenant


def tenants_to_refresh(registry: TenantRegistry, named: list[str]) -> list[str]:
    """The tenants a refresh runs for: the named ones (each must exist; its id is checked before it reaches
    Dagster's partitions), or every active tenant; none is refused."""
    tenant_ids = [registry.get(t).tenant_id for t in named] or [t.tenant_id for t in registry.list("active")]
    if not tenant_ids:
        raise TenantError("no active tenants; onboard one with `retkee tenants add`")
    return tenant_ids


def check_analyst_access(tenant: Tenant) -> Tenant:
    """Analysts get a new login for an active tenant's marts only; an erased tenant has none left."""
    if tenant.status == "erased":
        raise TenantError(f"tenant {tenant.tenant_id} is erased: its marts and analyst logins are gone")
    if tenant.status != "active":
        raise TenantError(f"tenant {tenant.tenant_id} is {tenant.status}: analysts get no new login (erasure follows)")
    return tenant


def file_deletion_request(conn: psycopg.Connection, registry: TenantRegistry, tenant_id: str, requested_by: str,
                          request_id: str | None) -> RecordedRequest | None:
    """A seller's (or operator's) deletion request: an active tenant is terminated, and the request is recorded
    (the erasure then has no grace period). Returns the request recorded, which is the first one if the tenant's
    erasure was asked for before; None for a tenant already erased."""
    if request_id is not None:
        check_request_id(request_id)  # before anything changes
    tenant = registry.get(tenant_id)
    if tenant.status == "active":
        registry.set_status(tenant_id, "terminated", "seller asked for deletion")
    if tenant.status == "erased":
        return None
    return record_request(conn, tenant_id, requested_by, request_id)
