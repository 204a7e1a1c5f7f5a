"""Who may read what in the warehouse: analysts read a tenant's marts, compliance reads lifecycle metadata,
and each tenant's job works under that tenant's own role.

Every name that reaches SQL here is a validated tenant id or a constant, quoted through psycopg's `sql`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from orchestration.warehouse.schemas import check_tenant_id, tenant_schema

ANALYST_ROLE = "analyst"
COMPLIANCE_ROLE = "compliance"
# The lifecycle facts compliance needs about a tenant; never `seller_id`, the one seller identifier we keep.
TENANT_LIFECYCLE_COLUMNS = (
    "tenant_id", "region", "status", "status_reason", "created_at", "status_changed_at", "erasure_requested_at",
)


def role_exists(conn: psycopg.Connection, role: str) -> bool:
    return conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone() is not None


def grant_analyst_read(conn: psycopg.Connection, tenant_id: str) -> None:
    """Analysts may read the tenant's marts (today's tables and every table built there later), nothing else.

    Run by the marts schema's owner; raw, staging and quarantine stay closed to analysts.
    """
    marts = sql.Identifier(tenant_schema(tenant_id, "marts"))
    analyst = sql.Identifier(ANALYST_ROLE)
    conn.execute(sql.SQL("grant usage on schema {} to {}").format(marts, analyst))
    conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(marts, analyst))
    conn.execute(sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(marts, analyst))


def grant_compliance_lifecycle_read(conn: psycopg.Connection) -> None:
    """Compliance may read tenants' lifecycle columns and status history (no seller id); where the role exists."""
    if not role_exists(conn, COMPLIANCE_ROLE):
        return
    compliance = sql.Identifier(COMPLIANCE_ROLE)
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in TENANT_LIFECYCLE_COLUMNS)
    conn.execute(sql.SQL("grant usage on schema control to {}").format(compliance))
    conn.execute(sql.SQL("grant select ({}) on control.tenants to {}").format(columns, compliance))
    conn.execute(sql.SQL("grant select on control.tenant_status_history to {}").format(compliance))


def tenant_owner_role(tenant_id: str) -> str:
    return f"{check_tenant_id(tenant_id)}_owner"


@contextmanager
def tenant_scope(conn: psycopg.Connection, tenant_id: str) -> Iterator[str]:
    """Run the block as the tenant's own role: schemas it creates belong to the tenant, and every other
    tenant's schemas are out of reach (permission denied), whatever name a bug or a crafted id puts in SQL.

    The role is created on first use by the administrator's `provisioning.ensure_tenant_owner`, the only way
    the pipeline (which may not create roles) gets one. This guards against mistakes, not against code that
    deliberately resets its role: the pipeline is a member of every tenant role.
    """
    check_tenant_id(tenant_id)
    role = conn.execute("select provisioning.ensure_tenant_owner(%s)", (tenant_id,)).fetchone()[0]
    if role != tenant_owner_role(tenant_id):
        raise RuntimeError(f"provisioning returned role {role!r} for tenant {tenant_id}")
    conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
    try:
        yield role
    finally:
        if not conn.closed:
            if conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
                conn.rollback()
            conn.execute("reset role")
