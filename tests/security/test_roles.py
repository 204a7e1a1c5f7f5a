"""Least privilege: each database role and Vault duty can do its job and is denied the rest."""

from __future__ import annotations

import secrets

import hvac.exceptions
import psycopg
import pytest
from psycopg import sql

from tests.security.conftest import login_as_analyst

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pipeline_conn(settings):
    from orchestration.defs.resources import open_session

    with open_session(settings) as session:
        session.conn.autocommit = True
        yield session.conn


@pytest.fixture(scope="module")
def compliance(settings, refreshed_tenant):
    from orchestration.compliance.session import compliance_session

    with compliance_session(settings) as session:
        yield session


def test_no_application_role_has_administrative_attributes(admin):
    rows = admin.execute(
        "select rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication from pg_roles"
        " where rolname in ('pipeline', 'all_tenants_analyst', 'analyst_login_issuer', 'compliance', 'dagster',"
        " 'spapi_quota') or rolname ~ '^(t[0-9a-f]{12}|all_tenants)_(owner|analyst)'"
    ).fetchall()
    assert {r[0] for r in rows} >= {"pipeline", "all_tenants_analyst", "analyst_login_issuer", "compliance", "dagster",
                                    "spapi_quota"}
    for name, *attributes in rows:
        assert not any(attributes), name


def test_analyst_reads_a_tenants_marts_once_granted_and_nothing_else(settings, pipeline_conn, refreshed_tenant):
    from orchestration.warehouse.grants import grant_analyst_read, tenant_scope

    tenant_id = "t" + secrets.token_hex(6)  # a marts schema of this test's own, as a tenant's build makes them
    marts = sql.Identifier(f"{tenant_id}_marts")
    with tenant_scope(pipeline_conn, tenant_id):  # provisioning makes the tenant's schemas, marts included
        pipeline_conn.execute(sql.SQL("create table {}.fct_daily_sales (sku text, revenue numeric)").format(marts))
    with login_as_analyst(settings) as analyst:  # staff: all tenants, through each tenant's group
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute(sql.SQL("select count(*) from {}.fct_daily_sales").format(marts))
        grant_analyst_read(pipeline_conn, tenant_id)
        assert analyst.execute(sql.SQL("select count(*) from {}.fct_daily_sales").format(marts)).fetchone() == (0,)
        # A mart built after the grant (by the tenant's role, as dbt builds them) is readable too.
        with tenant_scope(pipeline_conn, tenant_id):
            pipeline_conn.execute(sql.SQL("create table {}.fct_fees (sku text)").format(marts))
        assert analyst.execute(sql.SQL("select count(*) from {}.fct_fees").format(marts)).fetchone() == (0,)
        for denied in (
            sql.SQL("select count(*) from {}.orders").format(sql.Identifier(f"{refreshed_tenant.tenant_id}_raw")),
            sql.SQL("select count(*) from audit.access_log"),
            sql.SQL("select seller_id from control.tenants"),
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                analyst.execute(denied)


def test_compliance_reads_the_audit_trail_and_lifecycle_but_no_seller_data(compliance, refreshed_tenant):
    conn = compliance.conn
    assert conn.execute("select current_user").fetchone() == ("compliance",)
    conn.execute("select count(*) from audit.access_log").fetchone()
    statuses = conn.execute("select tenant_id, status from control.tenants").fetchall()
    assert (refreshed_tenant.tenant_id, "active") in statuses
    raw = sql.Identifier(f"{refreshed_tenant.tenant_id}_raw")
    for denied in (sql.SQL("select seller_id from control.tenants"),
                   sql.SQL("select * from control.tenants"),
                   sql.SQL("select count(*) from {}.orders").format(raw)):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(denied)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("insert into audit.access_log (run_id, job_name, db_role, vault_duty, status)"
                     " values ('x', 'x', 'x', 'x', 'x')")


def test_the_pipeline_appends_to_the_access_log_but_cannot_rewrite_it(pipeline_conn):
    for statement in ("update audit.access_log set status = 'SUCCESS'", "delete from audit.access_log",
                      "truncate audit.access_log", "drop table audit.access_log", "drop schema audit cascade"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            pipeline_conn.execute(statement)


def test_one_tenants_job_cannot_touch_another_tenants_schema(pipeline_conn):
    from orchestration.warehouse.grants import tenant_scope

    tenant_a, tenant_b = "t" + secrets.token_hex(6), "t" + secrets.token_hex(6)
    with tenant_scope(pipeline_conn, tenant_a) as role:
        assert role == f"{tenant_a}_owner"
        raw_a = sql.Identifier(f"{tenant_a}_raw")
        for statement in ("create table {}.orders (sku text)", "insert into {}.orders values (1)"):
            pipeline_conn.execute(sql.SQL(statement).format(raw_a))
    with tenant_scope(pipeline_conn, tenant_b):
        for statement in ("select * from {}.orders", "delete from {}.orders", "drop table {}.orders"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                pipeline_conn.execute(sql.SQL(statement).format(sql.Identifier(f"{tenant_a}_raw")))
    owner = pipeline_conn.execute("select pg_get_userbyid(nspowner) from pg_namespace where nspname = %s",
                                  (f"{tenant_a}_raw",)).fetchone()[0]
    assert owner == f"{tenant_a}_owner"
    assert pipeline_conn.execute("select current_user").fetchone() == ("pipeline",)


def test_the_quota_login_uses_its_buckets_and_nothing_else(settings, pipeline_conn, refreshed_tenant):
    from orchestration.secrets.vault import Vault
    from orchestration.warehouse.connection import connect

    with connect(settings, Vault(settings), autocommit=True, role="spapi_quota") as quota:
        assert quota.execute("select current_user").fetchone() == ("spapi_quota",)
        quota.execute("insert into spapi_quota.token_buckets (bucket, state) values ('probe', '{0}')")
        quota.execute("delete from spapi_quota.token_buckets where bucket = 'probe'")
        raw = sql.Identifier(f"{refreshed_tenant.tenant_id}_raw")
        for denied in (sql.SQL("select * from control.tenants"), sql.SQL("select count(*) from {}.orders").format(raw),
                       sql.SQL("select count(*) from audit.access_log"),
                       sql.SQL("create table spapi_quota.other (x int)"),
                       sql.SQL("drop table spapi_quota.token_buckets")):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                quota.execute(denied)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):  # and the pipeline login does not reach the buckets
        pipeline_conn.execute("select count(*) from spapi_quota.token_buckets")


def test_the_provisioning_function_accepts_nothing_but_a_tenant_id(pipeline_conn):
    for hostile in ("pipeline", "t0123456789ab; drop schema audit", "postgres", ""):
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            pipeline_conn.execute("select provisioning.ensure_tenant_owner(%s)", (hostile,))


def test_no_duty_token_carries_the_root_policy(pipeline_stack):
    from local_stack.vault import approle_login

    for duty in ("pipeline", "onboarding", "erasure", "key-release", "compliance", "rotation", "analyst-issuer"):
        token = approle_login(pipeline_stack, duty).auth.token.lookup_self()["data"]
        assert token["policies"] == [duty], duty


def test_the_compliance_duty_reads_key_metadata_but_no_secret_and_no_key_use(compliance, refreshed_tenant):
    client = compliance.vault.client
    key = f"tenant-{refreshed_tenant.tenant_id}"
    assert client.secrets.transit.read_key(key, mount_point="retkee-transit")["data"]["exportable"] is False
    denied = [
        lambda: client.secrets.kv.v2.read_secret_version(path=f"tenants/{refreshed_tenant.tenant_id}/spapi",
                                                         mount_point="retkee-kv", raise_on_deleted_version=True),
        lambda: client.secrets.kv.v2.read_secret_version(path="platform/lwa-app", mount_point="retkee-kv",
                                                         raise_on_deleted_version=True),
        lambda: client.secrets.transit.generate_data_key(key, key_type="plaintext", mount_point="retkee-transit"),
        lambda: client.secrets.transit.delete_key(key, mount_point="retkee-transit"),
        lambda: client.secrets.transit.rotate_key(key, mount_point="retkee-transit"),
    ]
    for attempt in denied:
        with pytest.raises(hvac.exceptions.Forbidden):
            attempt()


def test_the_pipeline_duty_cannot_read_the_compliance_login(settings):
    from orchestration.secrets.vault import Vault, VaultError

    with pytest.raises(VaultError, match="denied"):
        Vault(settings).warehouse_login("compliance")
