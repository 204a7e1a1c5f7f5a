"""The tenant registry: who our tenants are and where each stands in its lifecycle.

A tenant id is random (`t` + 12 hex digits), never derived from the seller id, so nothing downstream
(Dagster partitions, schemas, certificates) can be linked back to a seller once the registry row is erased.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row

from orchestration.errors import RetkeeError
from orchestration.warehouse.control import ensure_control_schema
from orchestration.warehouse.schemas import check_tenant_id

STATUSES = ("active", "revoked", "terminated", "erased")
REGIONS = ("na", "eu", "fe")
SELLER_ID_PATTERN = re.compile(r"^A[0-9A-Z]{9,20}$")
MARKETPLACE_ID_PATTERN = re.compile(r"^A[0-9A-Z]{6,20}$")


class TenantError(RetkeeError, ValueError):
    """A tenant operation that cannot be done; the message says why."""


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    seller_id: str | None
    region: str
    marketplace_ids: list[str]
    status: str
    status_reason: str | None
    created_at: datetime
    status_changed_at: datetime
    erasure_requested_at: datetime | None


def new_tenant_id() -> str:
    return "t" + secrets.token_hex(6)


def validate_seller(seller_id: str, region: str, marketplace_ids: list[str]) -> None:
    if not SELLER_ID_PATTERN.fullmatch(seller_id or ""):
        raise TenantError(f"not an Amazon seller id: {seller_id!r}")
    if region not in REGIONS:
        raise TenantError(f"region must be one of {', '.join(REGIONS)}, not {region!r}")
    if not marketplace_ids:
        raise TenantError("at least one marketplace id is required")
    for marketplace_id in marketplace_ids:
        if not MARKETPLACE_ID_PATTERN.fullmatch(marketplace_id):
            raise TenantError(f"not a marketplace id: {marketplace_id!r}")


class TenantRegistry:
    def __init__(self, conn: psycopg.Connection) -> None:
        self._conn = conn
        ensure_control_schema(conn)
        conn.commit()

    def add(self, seller_id: str, region: str, marketplace_ids: list[str], tenant_id: str | None = None) -> Tenant:
        validate_seller(seller_id, region, marketplace_ids)
        existing = self.live_tenant_of_seller(seller_id)
        if existing is not None:
            raise TenantError(f"seller already onboarded as tenant {existing.tenant_id} ({existing.status})")
        tenant_id = check_tenant_id(tenant_id) if tenant_id else new_tenant_id()
        with self._conn.cursor() as cur:
            cur.execute(
                "insert into control.tenants (tenant_id, seller_id, region, marketplace_ids, status)"
                " values (%s, %s, %s, %s, 'active')",
                (tenant_id, seller_id, region, marketplace_ids),
            )
            self._record(cur, tenant_id, "active", "onboarded")
        self._conn.commit()
        return self.get(tenant_id)

    def get(self, tenant_id: str) -> Tenant:
        check_tenant_id(tenant_id)
        with self._conn.cursor(row_factory=class_row(Tenant)) as cur:
            cur.execute("select * from control.tenants where tenant_id = %s", (tenant_id,))
            tenant = cur.fetchone()
        if tenant is None:
            raise TenantError(f"no tenant {tenant_id}")
        return tenant

    def live_tenant_of_seller(self, seller_id: str) -> Tenant | None:
        with self._conn.cursor(row_factory=class_row(Tenant)) as cur:
            cur.execute(
                "select * from control.tenants where seller_id = %s and status <> 'erased'", (seller_id,)
            )
            return cur.fetchone()

    def list(self, status: str | None = None) -> list[Tenant]:
        if status is not None and status not in STATUSES:
            raise TenantError(f"status must be one of {', '.join(STATUSES)}")
        with self._conn.cursor(row_factory=class_row(Tenant)) as cur:
            if status is None:
                cur.execute("select * from control.tenants order by created_at, tenant_id")
            else:
                cur.execute(
                    "select * from control.tenants where status = %s order by created_at, tenant_id", (status,)
                )
            return cur.fetchall()

    def set_status(self, tenant_id: str, status: str, reason: str) -> Tenant:
        """Move a tenant along its lifecycle: active -> revoked | terminated -> erased."""
        if status not in STATUSES:
            raise TenantError(f"status must be one of {', '.join(STATUSES)}")
        tenant = self.get(tenant_id)
        if tenant.status == status:
            return tenant
        if tenant.status == "erased":
            raise TenantError(f"tenant {tenant_id} is erased; a returning seller is onboarded as a new tenant")
        if status == "active":
            raise TenantError("a revoked or terminated tenant is not re-activated; onboard the seller again")
        with self._conn.cursor() as cur:
            cur.execute(
                "update control.tenants set status = %s, status_reason = %s, status_changed_at = now(),"
                " erasure_requested_at = coalesce(erasure_requested_at, now())"
                " where tenant_id = %s",
                (status, reason, tenant_id),
            )
            self._record(cur, tenant_id, status, reason)
        self._conn.commit()
        return self.get(tenant_id)

    @staticmethod
    def _record(cur: psycopg.Cursor, tenant_id: str, status: str, reason: str) -> None:
        cur.execute(
            "insert into control.tenant_status_history (tenant_id, status, reason) values (%s, %s, %s)",
            (tenant_id, status, reason),
        )
