"""Analysts' logins from OpenBao, probed as an attacker holding one: what it reads, what it cannot, when it dies.

Tenant A is this module's own (onboarded and built here, erased by the last test); tenant B is the session's
refreshed tenant, which stays. Every login is issued the way `retkee analysts grant` issues it, through the
analyst-issuer duty; nothing here creates a login by hand.
"""

from __future__ import annotations

import time

import hvac.exceptions
import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from tests.integration.conftest import US, settled_days
from tests.security.conftest import analyst_conninfo, issue_analyst_login, login_as_analyst, refresh_orders_slice

pytestmark = pytest.mark.integration

CLOSED_LAYERS = ("raw", "staging", "quarantine")


@pytest.fixture(scope="module")
def tenant_a(onboard, instance):
    _, tenant = onboard("A9ANALYSTLOGIN1", marketplaces=(US,), profile={"skus": 3, "orders_per_day": 6})
    report = refresh_orders_slice(instance, tenant.tenant_id, settled_days(1))
    assert not report.failed, report
    return tenant.tenant_id


@pytest.fixture(scope="module")
def tenant_b(refreshed_tenant):
    assert not refreshed_tenant.report.failed, refreshed_tenant.report
    return refreshed_tenant.tenant_id


@pytest.fixture(scope="module")
def issuer(settings):
    from orchestration.secrets.vault import Vault
    from orchestration.serve.analyst_logins import ISSUER_DUTY

    return Vault(settings.for_duty(ISSUER_DUTY))


def _relations(admin, schema: str) -> list[str]:
    return [r[0] for r in admin.execute(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm')", (schema,)).fetchall()]


def _denied(conn, statement) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def _refused_everything_but_marts(conn, admin, readable_tenants: list[str], other_tenants: list[str]) -> None:
    """Every table of every closed schema (and every schema of the other tenants) is refused; nothing can be
    created, granted, or taken over; the login cannot extend its own life."""
    closed = [f"{t}_{layer}" for t in readable_tenants for layer in CLOSED_LAYERS]
    closed += [f"{t}_{layer}" for t in other_tenants for layer in (*CLOSED_LAYERS, "marts")]
    for schema in (*closed, "control", "audit", "provisioning", "reference"):
        usable = conn.execute("select has_schema_privilege(%s, 'USAGE')", (schema,)).fetchone()[0]
        assert usable is (schema == "reference"), schema  # the public exchange rates are everyone's
        for relation in _relations(admin, schema):
            if schema != "reference":
                _denied(conn, sql.SQL("select 1 from {}.{} limit 1").format(sql.Identifier(schema),
                                                                        sql.Identifier(relation)))
    assert all(_relations(admin, f"{t}_marts") for t in other_tenants), "another tenant's marts to probe"
    assert _relations(admin, "audit") and _relations(admin, "control")
    marts = sql.Identifier(f"{readable_tenants[0]}_marts")
    user = conn.execute("select current_user").fetchone()[0]
    for attack in (
        sql.SQL("create table {}.forged (x int)").format(marts),
        sql.SQL("create view {}.forged as select 1").format(marts),
        sql.SQL("create schema forged"),
        sql.SQL("create table public.forged (x int)"),
        sql.SQL("create temporary table forged (x int)"),
        sql.SQL("create role forged"),
        sql.SQL("insert into {}.fct_daily_sales default values").format(marts),
        sql.SQL("delete from {}.fct_daily_sales").format(marts),
        sql.SQL("drop table {}.fct_daily_sales").format(marts),
        sql.SQL("alter table {}.fct_daily_sales owner to {}").format(marts, sql.Identifier(user)),
        sql.SQL("alter role {} valid until 'infinity'").format(sql.Identifier(user)),
        sql.SQL("grant {} to {}").format(sql.Identifier(f"{readable_tenants[0]}_analyst"), sql.Identifier(user)),
        sql.SQL("set role pipeline"),
        sql.SQL("set role {}").format(sql.Identifier(f"{readable_tenants[0]}_owner")),
        sql.SQL("select provisioning.issue_analyst_login('x', 'y', 'z')"),
    ):
        _denied(conn, attack)
    # GRANT of a privilege held without grant option only warns; what counts is that the ACL did not change.
    table = f"{readable_tenants[0]}_marts.fct_daily_sales"
    acl = admin.execute("select relacl::text from pg_class where oid = %s::regclass", (table,)).fetchone()
    conn.execute(sql.SQL("grant select on {}.fct_daily_sales to public").format(marts))
    assert admin.execute("select relacl::text from pg_class where oid = %s::regclass", (table,)).fetchone() == acl


def test_a_tenants_login_reads_its_marts_and_nothing_else(settings, admin, tenant_a, tenant_b):
    with login_as_analyst(settings, tenant_a) as conn:
        user = conn.execute("select current_user").fetchone()[0]
        assert user.startswith(f"{tenant_a}_analyst_")
        rows = conn.execute(sql.SQL("select count(*) from {}.fct_daily_sales").format(
            sql.Identifier(f"{tenant_a}_marts"))).fetchone()[0]
        assert rows == admin.execute(sql.SQL("select count(*) from {}.fct_daily_sales").format(
            sql.Identifier(f"{tenant_a}_marts"))).fetchone()[0] > 0
        _refused_everything_but_marts(conn, admin, [tenant_a], [tenant_b])


def test_the_all_tenants_login_reads_every_tenants_marts_and_nothing_else(settings, admin, tenant_a, tenant_b):
    with login_as_analyst(settings) as conn:
        assert conn.execute("select current_user").fetchone()[0].startswith("all_tenants_analyst_")
        for tenant_id in (tenant_a, tenant_b):
            conn.execute(sql.SQL("select count(*) from {}.fct_daily_sales").format(
                sql.Identifier(f"{tenant_id}_marts"))).fetchone()
        _refused_everything_but_marts(conn, admin, [tenant_a, tenant_b], [])


def test_a_login_stops_working_when_it_expires(settings, admin, tenant_b):
    from datetime import UTC, datetime, timedelta

    login = issue_analyst_login(settings, tenant_b, ttl=timedelta(seconds=3))
    assert timedelta(0) < login.expires_at - datetime.now(UTC) <= timedelta(seconds=3)
    session = psycopg.connect(analyst_conninfo(settings, login), autocommit=True)
    session.execute("select 1")
    time.sleep(max(0.0, (login.expires_at - datetime.now(UTC)).total_seconds()))
    # From the expiry on, PostgreSQL refuses the password (VALID UNTIL), and OpenBao revokes the lease: the login
    # is dropped and its open session ended. Both within seconds.
    deadline = time.monotonic() + 15
    while admin.execute("select 1 from pg_roles where rolname = %s", (login.username,)).fetchone():
        assert time.monotonic() < deadline, "the expired login was not dropped"
        time.sleep(0.5)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(analyst_conninfo(settings, login), connect_timeout=5).close()
    with pytest.raises(psycopg.OperationalError):
        session.execute("select 1")
    session.close()


def test_no_login_lives_longer_than_the_maximum(admin):
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="expires within 24 hours"):
        admin.execute("select provisioning.issue_analyst_login('all_tenants_analyst_aaaaaaaaaaaa', 'x',"
                      " (now() + interval '25 hours')::text)")
    for name in ("pipeline", "t000000000000_owner", "all_tenants_analyst", "x_analyst_aaaaaaaaaaaa"):
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="not an analyst login name"):
            admin.execute("select provisioning.revoke_analyst_login(%s)", (name,))


def test_the_issuer_role_holds_nothing_but_the_login_functions(admin):
    from orchestration.warehouse.grants import ANALYST_LOGIN_ISSUER_ROLE as issuer

    attributes = admin.execute("select rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication"
                               " from pg_roles where rolname = %s", (issuer,)).fetchone()
    assert attributes == (False,) * 5
    memberships = admin.execute("select count(*) from pg_auth_members where member = %s::regrole", (issuer,))
    assert memberships.fetchone() == (0,)
    usable = {r[0] for r in admin.execute(
        "select nspname from pg_namespace where has_schema_privilege(%s, oid, 'USAGE')"
        " and nspname !~ '^pg_' and nspname <> 'information_schema'", (issuer,)).fetchall()}
    assert usable == {"provisioning", "public", "reference"}
    functions = {r[0] for r in admin.execute(
        "select p.proname from pg_proc p where p.pronamespace = 'provisioning'::regnamespace"
        " and has_function_privilege(%s, p.oid, 'EXECUTE')", (issuer,)).fetchall()}
    assert functions == {"issue_analyst_login", "renew_analyst_login", "revoke_analyst_login"}


def test_the_issuer_duty_reads_logins_and_nothing_else_in_vault(issuer, tenant_b):
    from orchestration.secrets.vault import KV_MOUNT, TRANSIT_MOUNT, tenant_key_name, tenant_secret_path
    from orchestration.serve.analyst_logins import MOUNT

    client = issuer.client
    key = tenant_key_name(tenant_b)
    attempts = [
        lambda: client.read(f"{KV_MOUNT}/data/{tenant_secret_path(tenant_b)}"),
        lambda: client.read(f"{KV_MOUNT}/data/platform/lwa-app"),
        lambda: client.read(f"{KV_MOUNT}/data/platform/warehouse/pipeline"),
        lambda: client.list(f"{KV_MOUNT}/metadata/tenants"),
        lambda: client.read(f"{TRANSIT_MOUNT}/keys/{key}"),
        lambda: client.write(f"{TRANSIT_MOUNT}/encrypt/{key}", plaintext="eA=="),
        lambda: client.write(f"{TRANSIT_MOUNT}/datakey/plaintext/{key}"),
        lambda: client.read(f"{MOUNT}/config/warehouse"),
        lambda: client.write(f"{MOUNT}/rotate-root/warehouse"),
        lambda: client.write(f"{MOUNT}/roles/analyst-{tenant_b}", db_name="warehouse",
                             creation_statements=["select 1"]),
        lambda: client.read(f"{MOUNT}/roles/analyst-{tenant_b}"),
        lambda: client.read(f"{MOUNT}/creds/pipeline"),
        lambda: client.read(f"database/creds/analyst-{tenant_b}"),  # the same role name on another mount
        lambda: client.read(f"{KV_MOUNT}/creds/analyst-{tenant_b}"),
        lambda: client.write(f"sys/leases/revoke-prefix/{MOUNT}/creds/analyst-{tenant_b}"),
        lambda: client.write("sys/leases/renew", lease_id=f"{MOUNT}/creds/analyst-{tenant_b}/x", increment=60),
        lambda: client.sys.list_mounted_secrets_engines(),
        lambda: client.sys.read_policy("analyst-issuer"),
    ]
    for number, attempt in enumerate(attempts):
        with pytest.raises(hvac.exceptions.Forbidden):
            attempt()
            pytest.fail(f"attempt {number} was allowed")


@pytest.mark.parametrize("duty", ["pipeline", "onboarding", "erasure", "compliance", "rotation"])
def test_no_other_duty_can_issue_a_login(settings, duty, tenant_b):
    from orchestration.secrets.vault import Vault
    from orchestration.serve.analyst_logins import ALL_TENANTS_VAULT_ROLE, MOUNT

    client = Vault(settings.for_duty(duty)).client
    for role in (ALL_TENANTS_VAULT_ROLE, f"analyst-{tenant_b}"):
        with pytest.raises(hvac.exceptions.Forbidden):
            client.read(f"{MOUNT}/creds/{role}")


def test_retkee_analysts_grant_prints_a_connection_string_that_connects(tenant_b, monkeypatch, tmp_path):
    from orchestration.cli import app

    monkeypatch.chdir(tmp_path)  # the stack's environment only
    result = CliRunner().invoke(app, ["analysts", "grant", tenant_b, "--ttl", "30m"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and "sslmode=verify-full" in lines[0] and "dbname=warehouse" in lines[0], lines
    assert "expires at" in result.stderr
    with psycopg.connect(lines[0]) as conn:
        user = conn.execute("select current_user").fetchone()[0]
        conn.execute(sql.SQL("select count(*) from {}.fct_daily_sales").format(sql.Identifier(f"{tenant_b}_marts")))
    assert user.startswith(f"{tenant_b}_analyst_")
    for arguments, message in (
        (["analysts", "grant", "t000000000000"], "no tenant t000000000000"),
        (["analysts", "grant", tenant_b, "--ttl", "25h"], "--ttl must be between 1s and 24h"),
        (["analysts", "grant", tenant_b, "--all-tenants"], "not both"),
    ):
        refused = CliRunner().invoke(app, arguments)
        assert refused.exit_code == 1 and refused.stderr.strip().startswith("error: "), refused.output
        assert message in refused.stderr, refused.stderr


def test_retkee_analysts_connect_without_psql_says_so_in_one_line(tenant_b, monkeypatch, tmp_path):
    from orchestration.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    result = CliRunner().invoke(app, ["analysts", "connect", tenant_b])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: psql is not installed (Debian: apt-get install postgresql-client); `retkee analysts grant` prints a "
        "connection string for any other client"]


def test_erasure_ends_the_tenants_logins_and_refuses_new_ones(settings, instance, admin, issuer, tenant_a,
                                                              monkeypatch, tmp_path):
    """Runs last: it erases tenant A."""
    from orchestration.cli import app
    from orchestration.defs.resources import open_session
    from orchestration.erasure_now import run_erasure_now
    from orchestration.retain.certificate import read_certificate
    from orchestration.secrets.vault import VaultError
    from orchestration.serve.analyst_logins import issue_login

    login = issue_analyst_login(settings, tenant_a)
    live = admin.execute("select count(*) from pg_roles where starts_with(rolname, %s)",
                         (f"{tenant_a}_analyst_",)).fetchone()[0]
    assert live >= 1
    session = psycopg.connect(analyst_conninfo(settings, login), autocommit=True)
    session.execute("select 1")
    with open_session(settings) as control:
        control.registry.set_status(tenant_a, "terminated", "subscription ended")
    refused = CliRunner().invoke(app, ["analysts", "grant", tenant_a])
    assert refused.exit_code == 1 and "is terminated: analysts get no new login" in refused.stderr, refused.output
    ok, failure = run_erasure_now(tenant_a, instance)
    assert ok, failure

    with pytest.raises(psycopg.OperationalError):
        session.execute("select 1")
    session.close()
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(analyst_conninfo(settings, login), connect_timeout=5).close()
    assert admin.execute("select rolname from pg_roles where starts_with(rolname, %s)", (tenant_a,)).fetchall() == []
    with pytest.raises(VaultError, match=f"analyst-{tenant_a}"):
        issue_login(issuer, tenant_a)  # the Vault role is gone: nothing is issued, whatever the registry says
    monkeypatch.chdir(tmp_path)
    refused = CliRunner().invoke(app, ["analysts", "grant", tenant_a])
    assert refused.exit_code == 1 and f"tenant {tenant_a} is erased" in refused.stderr, refused.output

    with open_session(settings) as control:
        certificate = read_certificate(control.conn, tenant_a)
    recorded = certificate.destroyed["analyst_logins"]
    assert recorded["live_logins"] == live and recorded["vault_role_deleted"] is True, recorded
    assert recorded["vault_role"].endswith(f"/roles/analyst-{tenant_a}")
    assert f"{tenant_a}_analyst" in certificate.destroyed["db_roles"]
    assert certificate.verification["analyst_vault_role_exists"] is False
