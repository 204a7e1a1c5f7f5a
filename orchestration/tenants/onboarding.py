"""Onboarding: a seller authorizes us, and becomes a tenant with its own key, its own Vault secret and the Vault
role its analysts' logins are issued from.

The registry row is written last: a failure part-way leaves at most an orphan Vault key or secret
under a tenant id nobody refers to, never a tenant without its credentials.
"""

from __future__ import annotations

import psycopg

from orchestration.secrets.redaction import Secret
from orchestration.secrets.vault import Vault
from orchestration.serve.analyst_logins import ensure_tenant_role
from orchestration.tenants.registry import Tenant, TenantError, TenantRegistry, new_tenant_id, validate_seller


def onboard_seller(
    conn: psycopg.Connection,
    onboarding_vault: Vault,
    *,
    seller_id: str,
    region: str,
    marketplace_ids: list[str],
    refresh_token: Secret,
) -> Tenant:
    validate_seller(seller_id, region, marketplace_ids)
    if not refresh_token.reveal().startswith("Atzr|"):
        raise TenantError("that does not look like an LWA refresh token (they start with 'Atzr|')")
    registry = TenantRegistry(conn)
    existing = registry.live_tenant_of_seller(seller_id)
    if existing is not None:
        raise TenantError(f"seller already onboarded as tenant {existing.tenant_id} ({existing.status})")
    tenant_id = new_tenant_id()
    onboarding_vault.create_tenant_key(tenant_id)
    onboarding_vault.store_refresh_token(tenant_id, refresh_token)
    ensure_tenant_role(onboarding_vault, tenant_id)
    return registry.add(seller_id, region, marketplace_ids, tenant_id=tenant_id)
