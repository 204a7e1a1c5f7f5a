"""Who may read what in the warehouse: analysts read a tenant's marts, compliance reads lifecycle metadata,
and each tenant's job works under that tenant's own role. The one home of the analyst roles' names.

Every name that reaches SQL here is a validated tenant id or a constant, quoted through psycopg's `sql`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from orchestration.warehouse.schemas import check_tenant_id, create_schema_if_missing, tenant_schema

# Analysts' access (docs/security.md, "Analyst logins"): one NOLOGIN read-only group per tenant, `<tenant>_analyst`
# (USAGE and SELECT on `<tenant>_marts`, nothing else), and one group for internal staff, a member of every
# tenant's group, so it reads every tenant's marts through them and loses a tenant when its group is dropped at
# erasure. Nobody logs in as a group: OpenBao issues expiring logins in one of them
# (orchestration/serve/analyst_logins.py), named `<group>_<random>`, through the issuer role below, which may
# only call the administrator's provisioning.issue/renew/revoke_analyst_login functions.
ANALYST_GROUP_SUFFIX = "_analyst"
ALL_TENANTS_SCOPE = "all_tenants"
ALL_TENANTS_ANALYST_GROUP = ALL_TENANTS_SCOPE + ANALYST_GROUP_SUFFIX
ANALYST_LOGIN_ISSUER_ROLE = "analyst_login_issuer"
COMPLIANCE_ROLE = "compliance"
# The lifecycle facts compliance needs about a tenant; never `seller_id`, the one seller identifier we keep.
TENANT_LIFECYCLE_COLUMNS = (
    "tenant_id", "region", "status", "status_reason", "created_at", "status_changed_at", "erasure_requested_at",
)


def role_exists(conn: psycopg.Connection, role: str) -> bool:
    return conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone() is not None


def tenant_analyst_group(tenant_id: str) -> str:
    """The read-only group of one tenant's analysts (made with the tenant's owner role, by provisioning)."""
    return f"{check_tenant_id(tenant_id)}{ANALYST_GROUP_SUFFIX}"


def grant_analyst_read(conn: psycopg.Connection, tenant_id: str) -> None:
    """The tenant's analyst group may read the tenant's marts (today's tables and every table built there
    later), nothing else; the all-tenants group reads them through its membership in that group.

    Run as the tenant's owner role (it enters `tenant_scope`, or reuses the one the caller is in): default
    privileges apply to tables created by the role that set them, and the tenant's marts are built by its
    owner role. The marts schema exists from the tenant scope on (provisioning makes it), so the grant is in
    place before any mart exists; so does the group (provisioning.ensure_tenant_owner makes both). Raw, staging
    and quarantine stay closed to analysts. dbt grants nothing of its own: the default privileges cover what
    it builds, and a `grants` config would make dbt revoke what it does not list on incremental models.
    """
    marts = sql.Identifier(tenant_schema(tenant_id, "marts"))
    analyst = sql.Identifier(tenant_analyst_group(tenant_id))
    with tenant_scope(conn, tenant_id), conn.transaction():
        conn.execute(create_schema_if_missing(tenant_schema(tenant_id, "marts")))
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(marts, analyst))
        conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(marts, analyst))
        conn.execute(
            sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(marts, analyst)
        )


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


# Relations handed over one by one (ALTER SCHEMA does not change the owner of what the schema holds).
# Indexes, and sequences that belong to a column (serial, identity), follow their table and are not listed.
_HANDOVER_KEYWORDS = {"r": "table", "p": "table", "v": "view", "m": "materialized view", "f": "foreign table",
                      "S": "sequence"}


def _pipeline_owned(conn: psycopg.Connection, tenant_id: str) -> tuple[list[str], list[tuple[str, str, str]]]:
    """The tenant's schemas, and the relations in them, that the connected role (the pipeline) still owns."""
    prefix = f"{check_tenant_id(tenant_id)}_"
    schemas = [row[0] for row in conn.execute(
        "select nspname from pg_namespace where starts_with(nspname, %s)"
        " and pg_get_userbyid(nspowner) = current_user order by 1", (prefix,)).fetchall()]
    relations = [tuple(row) for row in conn.execute(
        "select n.nspname, c.relname, c.relkind::text from pg_class c"
        " join pg_namespace n on n.oid = c.relnamespace"
        " where starts_with(n.nspname, %s) and pg_get_userbyid(c.relowner) = current_user"
        " and c.relkind::text = any(%s)"
        " and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid"
        "                 and d.deptype in ('a', 'i') and d.refclassid = 'pg_class'::regclass)"
        " order by 1, 2", (prefix, list(_HANDOVER_KEYWORDS))).fetchall()]
    return schemas, relations


def hand_over_tenant_objects(conn: psycopg.Connection, tenant_id: str) -> int:
    """Give the tenant's owner role what the pipeline itself still owns in the tenant's schemas; returns how
    many schemas and relations changed hands (0 once done: then nothing is locked or written).

    Warehouses built before per-tenant ownership have tenant schemas owned by `pipeline`; a tenant's job,
    running as `<tenant>_owner`, could not create tables there. The pipeline may change the owner of what it
    owns to a role it is a member of (REASSIGN OWNED would move everything it owns, audit tables included).
    Schemas first: the new owner of a table must be able to create in its schema. Runs as the pipeline,
    outside any tenant scope; concurrent first runs of one tenant take turns on an advisory lock.
    """
    owner = sql.Identifier(tenant_owner_role(tenant_id))
    with conn.transaction():
        schemas, relations = _pipeline_owned(conn, tenant_id)
        if not schemas and not relations:
            return 0
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"owner:{tenant_id}",))
        # A table an analyst is reading holds the ALTER back; fail (and retry the run) rather than hang.
        conn.execute("set local lock_timeout = '60s'")
        schemas, relations = _pipeline_owned(conn, tenant_id)  # again: a concurrent first run may have done it
        for schema in schemas:
            conn.execute(sql.SQL("alter schema {} owner to {}").format(sql.Identifier(schema), owner))
        for schema, name, kind in relations:
            conn.execute(sql.SQL("alter {} {}.{} owner to {}").format(
                sql.SQL(_HANDOVER_KEYWORDS[kind]), sql.Identifier(schema), sql.Identifier(name), owner))
    return len(schemas) + len(relations)


@contextmanager
def tenant_scope(conn: psycopg.Connection, tenant_id: str) -> Iterator[str]:
    """Run the block as the tenant's own role: schemas it creates belong to the tenant, and every other
    tenant's schemas are out of reach (permission denied), whatever name a bug or a crafted id puts in SQL.

    The role is created on first use by the administrator's `provisioning.ensure_tenant_owner`, the only way
    the pipeline (which may not create roles) gets one; what the pipeline owned in the tenant's schemas before
    (an older warehouse) is handed over to it first (`hand_over_tenant_objects`).

    The connection must not be inside a transaction when the scope starts: the role switch is committed on
    its own, so no rollback inside or after the block can silently put the pipeline role back (or the
    tenant's role back after the block). On a connection outside autocommit the block is one unit of work:
    what it leaves uncommitted is committed when it ends normally and rolled back when it raises. Entering
    the scope of the tenant the connection is already working for is a no-op (the outer scope ends it);
    entering another tenant's is refused.

    This guards against mistakes, not against code that deliberately resets its role: the pipeline is a
    member of every tenant role.
    """
    role = tenant_owner_role(tenant_id)
    idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    current, session = conn.execute("select current_user, session_user").fetchone()
    if idle:
        # End the transaction that select opened (outside autocommit): a nested scope must not turn the
        # block's own transactions into savepoints of it, left open while dbt's connections wait on them.
        conn.rollback()
    if current == role:
        yield role
        return
    if current != session:
        raise RuntimeError(f"already working as {current}; a tenant scope cannot be entered from another")
    if not idle:
        raise RuntimeError("tenant_scope must start outside a transaction: commit or roll back first")
    provisioned = conn.execute("select provisioning.ensure_tenant_owner(%s)", (tenant_id,)).fetchone()[0]
    if provisioned != role:
        raise RuntimeError(f"provisioning returned role {provisioned!r} for tenant {tenant_id}")
    conn.commit()  # the new role is visible to other sessions (dbt's) from here on
    hand_over_tenant_objects(conn, tenant_id)
    with conn.transaction():
        conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
    try:
        yield role
    except BaseException:
        _leave_scope(conn, commit=False)
        raise
    _leave_scope(conn, commit=True)


def _leave_scope(conn: psycopg.Connection, *, commit: bool) -> None:
    if conn.closed or conn.broken:
        return  # the session and its role are gone with the connection
    try:
        if commit and conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
            conn.commit()
    finally:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.rollback()
        with conn.transaction():
            conn.execute("reset role")
