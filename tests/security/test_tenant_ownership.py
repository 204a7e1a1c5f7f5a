"""Per-tenant ownership in the real pipeline: extraction and dbt run as `<tenant>_owner`, so everything a
tenant's jobs build belongs to that tenant's role, a job in another tenant's scope is refused, a warehouse
built before (objects owned by `pipeline`) is handed over on first use, and erasure leaves no role behind.

Tenant A is the security suite's refreshed tenant (orders slice: extraction, then dbt staging -> marts).
Tenant B is put in the state an older `make run` left a tenant in: built, then every object handed back to
`pipeline` by the administrator (REASSIGN OWNED) and the role dropped, plus a pipeline-made mart with a
sequence and an analyst grant; then today's pipeline refreshes it. The last test erases B.
"""

from __future__ import annotations

import secrets

import psycopg
import pytest
from psycopg import sql

from tests.integration.conftest import US, settled_days
from tests.security.conftest import login_as_analyst, refresh_orders_slice

pytestmark = pytest.mark.integration

# What the orders slice builds in every tenant: (layer, relation).
BUILT = {("raw", "orders"), ("quarantine", "orders"), ("staging", "stg_amazon__orders"),
         ("staging", "int_order_items_grouped_by_day"), ("marts", "fct_daily_sales")}


def owners(admin: psycopg.Connection, tenant_id: str) -> dict[str, str]:
    """Owner of every schema (`schema`) and relation (`schema.relation`, indexes included) of the tenant."""
    rows = admin.execute(
        "select nspname, pg_get_userbyid(nspowner) from pg_namespace where starts_with(nspname, %s)"
        " union all"
        " select n.nspname || '.' || c.relname, pg_get_userbyid(c.relowner) from pg_class c"
        " join pg_namespace n on n.oid = c.relnamespace where starts_with(n.nspname, %s)",
        (f"{tenant_id}_", f"{tenant_id}_"),
    ).fetchall()
    return dict(rows)


@pytest.fixture(scope="module")
def pipeline_conn(settings):
    from orchestration.defs.resources import open_session

    with open_session(settings) as session:
        session.conn.autocommit = True
        yield session.conn


@pytest.fixture(scope="module")
def legacy_tenant(settings, onboard, instance, admin):
    """Tenant B: built, then put back the way an earlier version left it (everything owned by `pipeline`, no
    `<tenant>_owner` role, analysts' grants made by the pipeline), then refreshed by today's pipeline."""
    from orchestration.defs.resources import open_session

    _, tenant = onboard("A9OWNERLEGACY01", marketplaces=(US,), profile={"skus": 3, "orders_per_day": 6})
    t = tenant.tenant_id
    days = settled_days(1)
    first = refresh_orders_slice(instance, t, days)
    assert not first.failed, first
    owner = sql.Identifier(f"{t}_owner")
    for statement in ("reassign owned by {} to pipeline", "drop owned by {}", "drop role {}"):
        admin.execute(sql.SQL(statement).format(owner))
    with open_session(settings) as session, session.conn.transaction():
        marts = sql.Identifier(f"{t}_marts")  # a mart dbt no longer builds, with a sequence of its own
        session.conn.execute(sql.SQL("create table {}.fct_legacy (id bigserial primary key, sku text)").format(marts))
        session.conn.execute(sql.SQL("grant select on {}.fct_legacy to {}").format(
            marts, sql.Identifier(f"{t}_analyst")))
    before = owners(admin, t)
    assert set(before.values()) == {"pipeline"}, before
    report = refresh_orders_slice(instance, t, days)
    return t, report


def test_every_schema_and_relation_of_a_tenant_belongs_to_its_owner_role(admin, refreshed_tenant, legacy_tenant):
    tenant_a = refreshed_tenant.tenant_id
    tenant_b, report_b = legacy_tenant
    assert not refreshed_tenant.report.failed and not report_b.failed, (refreshed_tenant.report, report_b)
    for tenant_id in (tenant_a, tenant_b):
        found = owners(admin, tenant_id)
        assert {f"{tenant_id}_{layer}.{name}" for layer, name in BUILT} <= set(found), sorted(found)
        not_owned = {name: owner for name, owner in found.items() if owner != f"{tenant_id}_owner"}
        assert not_owned == {}, f"tenant {tenant_id}: objects not owned by its role: {not_owned}"
    # The handed-over mart dbt does not build any more, and its sequence, changed hands too.
    assert f"{tenant_b}_marts.fct_legacy_id_seq" in owners(admin, tenant_b)


def test_extraction_alone_writes_as_the_tenants_role(settings, onboard, instance, admin):
    """Without a marts build after it (whose scope would hand over whatever the pipeline made): the loader
    itself ran as the tenant's role."""
    from tests.integration.test_erasure_end_to_end import extract_orders

    _, tenant = onboard("A9OWNEREXTRACT1", marketplaces=(US,), profile={"skus": 2, "orders_per_day": 4})
    extract_orders(instance, tenant.tenant_id, settled_days(1)[0])
    found = owners(admin, tenant.tenant_id)
    assert {f"{tenant.tenant_id}_raw.orders", f"{tenant.tenant_id}_quarantine.orders"} <= set(found), found
    assert set(found.values()) == {f"{tenant.tenant_id}_owner"}, found


def test_a_cost_import_writes_as_the_tenants_role(settings, admin):
    from orchestration.costs.store import import_unit_costs
    from orchestration.costs.validate import parse_unit_costs
    from orchestration.defs.resources import open_session

    tenant_id = "t" + secrets.token_hex(6)
    rows = parse_unit_costs("sku,unit_cost,currency,valid_from\nA-1,2.50,USD,2024-01-01\n")
    with open_session(settings) as session:
        import_unit_costs(session.conn, tenant_id, rows)
        assert session.conn.execute("select current_user").fetchone() == ("pipeline",)
    found = owners(admin, tenant_id)
    assert f"{tenant_id}_raw.unit_costs" in found
    assert set(found.values()) == {f"{tenant_id}_owner"}, found


def test_a_job_in_one_tenants_scope_is_denied_the_other_tenants_raw_and_marts(pipeline_conn, refreshed_tenant,
                                                                             legacy_tenant):
    from orchestration.warehouse.grants import tenant_scope

    tenant_a, (tenant_b, _) = refreshed_tenant.tenant_id, legacy_tenant
    raw_a, marts_a = sql.Identifier(f"{tenant_a}_raw"), sql.Identifier(f"{tenant_a}_marts")
    with tenant_scope(pipeline_conn, tenant_a):
        assert pipeline_conn.execute(sql.SQL("select count(*) from {}.fct_daily_sales").format(marts_a)).fetchone()[0]
    with tenant_scope(pipeline_conn, tenant_b):
        for statement in (
            sql.SQL("select count(*) from {}.orders").format(raw_a),
            sql.SQL("select count(*) from {}.fct_daily_sales").format(marts_a),
            sql.SQL("delete from {}.orders").format(raw_a),
            sql.SQL("create table {}.planted (x int)").format(raw_a),
            sql.SQL("drop table {}.fct_daily_sales").format(marts_a),
            sql.SQL("grant select on {}.fct_daily_sales to {}").format(marts_a, sql.Identifier(f"{tenant_b}_owner")),
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                pipeline_conn.execute(statement)
    assert pipeline_conn.execute("select current_user").fetchone() == ("pipeline",)


def test_a_rollback_inside_a_tenant_scope_does_not_give_the_pipeline_role_back(settings):
    from orchestration.defs.resources import open_session
    from orchestration.warehouse.grants import tenant_scope

    tenant_id = "t" + secrets.token_hex(6)
    with open_session(settings) as session:  # not autocommit, as every job's connection
        conn = session.conn
        with tenant_scope(conn, tenant_id) as role:
            conn.execute("select 1")
            conn.rollback()
            assert conn.execute("select current_user").fetchone() == (role,)
        conn.rollback()
        assert conn.execute("select current_user").fetchone() == ("pipeline",)
        with pytest.raises(RuntimeError, match="outside a transaction"), tenant_scope(conn, tenant_id):
            pass


def test_analysts_still_read_the_marts_the_owner_roles_built_and_nothing_else(settings, refreshed_tenant,
                                                                               legacy_tenant):
    tenant_b, _ = legacy_tenant
    with login_as_analyst(settings) as analyst:
        for tenant_id in (refreshed_tenant.tenant_id, tenant_b):
            marts = sql.Identifier(f"{tenant_id}_marts")
            analyst.execute(sql.SQL("select count(*) from {}.fct_daily_sales").format(marts)).fetchone()
        analyst.execute(sql.SQL("select count(*) from {}.fct_legacy").format(sql.Identifier(f"{tenant_b}_marts")))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute(sql.SQL("select count(*) from {}.orders").format(sql.Identifier(f"{tenant_b}_raw")))


def test_a_role_made_by_the_earlier_provisioning_function_gets_what_it_lacks(admin, pipeline_conn):
    """Before per-tenant builds, owner roles had no TEMPORARY, which dbt's incremental models and unit tests need."""
    from orchestration.warehouse.grants import tenant_scope

    tenant_id = "t" + secrets.token_hex(6)
    role = sql.Identifier(f"{tenant_id}_owner")
    for statement in ("create role {} nologin", "grant connect, create on database warehouse to {}",
                      "grant {} to pipeline"):
        admin.execute(sql.SQL(statement).format(role))
    with tenant_scope(pipeline_conn, tenant_id):
        pipeline_conn.execute("create temporary table scratch (x int)")
        pipeline_conn.execute("drop table scratch")


def test_an_active_tenants_role_cannot_be_dropped(pipeline_conn, refreshed_tenant):
    with pytest.raises(psycopg.errors.ObjectInUse):
        pipeline_conn.execute("select provisioning.drop_tenant_owner(%s)", (refreshed_tenant.tenant_id,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        pipeline_conn.execute(sql.SQL("drop role {}").format(sql.Identifier(f"{refreshed_tenant.tenant_id}_owner")))


def test_erasure_drops_the_tenants_schemas_and_its_owner_role(settings, instance, admin, legacy_tenant):
    """Runs last: it erases tenant B."""
    from orchestration.defs.resources import open_session
    from orchestration.erasure_now import run_erasure_now
    from orchestration.retain.certificate import read_certificate

    tenant_b, _ = legacy_tenant
    with open_session(settings) as session:
        session.registry.set_status(tenant_b, "terminated", "subscription ended")
    ok, failure = run_erasure_now(tenant_b, instance)
    assert ok, failure
    with open_session(settings) as session:
        certificate = read_certificate(session.conn, tenant_b)
    assert certificate.verified
    assert certificate.destroyed["db_roles"] == [f"{tenant_b}_analyst", f"{tenant_b}_owner"]
    assert certificate.verification["db_roles_left"] == 0
    assert owners(admin, tenant_b) == {}
    assert admin.execute("select rolname from pg_roles where starts_with(rolname, %s)",
                         (tenant_b,)).fetchall() == []
