"""Releases a tenant's transit key for erasure: the one step the erasure duty cannot take itself.

Vault holds the guard: the erasure duty may delete keys but not configure them, and transit refuses to delete a
key whose `deletion_allowed` is false; only the key-release duty sets it, and only to true (docs/security.md,
"Deleting a tenant key"). This module is where that duty is used, and it first asks the control plane: a key is
released only for a tenant that is revoked or terminated (or already marked erased), never for an active
one. A revoked or terminated tenant is never re-activated (tenants/registry.py), so a deletable key always
belongs to a tenant on its way out. docs/security.md ("Deleting a tenant key") says why this design.
"""

from __future__ import annotations

import psycopg

from orchestration.errors import RetkeeError
from orchestration.retain.policy import ERASABLE_STATUSES
from orchestration.secrets.vault import Vault
from orchestration.warehouse.schemas import check_tenant_id

# An erased tenant whose key is still there (marked erased by hand, an erasure killed after the certificate's
# transaction): its key may go too.
RELEASABLE_STATUSES = (*ERASABLE_STATUSES, "erased")


class KeyReleaseRefused(RetkeeError, RuntimeError):
    """The tenant is not one whose key may be made deletable (active, or unknown)."""


def release_tenant_key(conn: psycopg.Connection, key_release_vault: Vault, tenant_id: str) -> bool:
    """Make the tenant's key deletable if the control plane says the tenant is leaving; False if the key is gone.

    Raises KeyReleaseRefused for an active or unknown tenant: nothing is asked of Vault then.
    """
    check_tenant_id(tenant_id)
    with conn.cursor() as cur:
        cur.execute("select status from control.tenants where tenant_id = %s", (tenant_id,))
        row = cur.fetchone()
    if not conn.autocommit:
        conn.commit()  # a read: hold no snapshot or lock while Vault answers
    if row is None:
        raise KeyReleaseRefused(f"no tenant {tenant_id}; its key is not released")
    if row[0] not in RELEASABLE_STATUSES:
        raise KeyReleaseRefused(f"tenant {tenant_id} is {row[0]}; only a revoked or terminated tenant's key is "
                                "released for erasure")
    return key_release_vault.allow_tenant_key_deletion(tenant_id)
