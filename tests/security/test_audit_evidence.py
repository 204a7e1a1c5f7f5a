"""Evidence nobody below the administrator can alter, probed the way an attacker would.

Every application role (the pipeline, a tenant's owner role as a tenant's job runs it, an analyst, the compliance
officer) tries every write on every table of the `audit` schema (found by listing the schema, not from a list of
ours), every database-level privilege, and every Vault duty tries every operation on the certificate signing key
it has no business with: each attempt must fail and change nothing. Then a real erasure's certificate is checked
(`retkee erasure verify`): valid as issued, altered once the database superuser edits it by hand, and a
certificate forged through the pipeline's own append function does not pass either.
"""

from __future__ import annotations

import json
import secrets
from contextlib import contextmanager

import hvac.exceptions
import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from tests.security.conftest import login_as_analyst

pytestmark = pytest.mark.integration

SIGNING_KEY = "erasure-certificates"
TRANSIT = "retkee-transit"


@pytest.fixture(scope="module")
def pipeline_conn(settings):
    from orchestration.defs.resources import open_session

    with open_session(settings) as session:
        session.conn.autocommit = True
        yield session.conn


@pytest.fixture(scope="module")
def audit_tables(admin) -> list[str]:
    tables = [row[0] for row in admin.execute(
        "select c.relname from pg_class c where c.relnamespace = 'audit'::regnamespace and c.relkind in ('r', 'p')"
        " order by 1").fetchall()]
    # At least every table issue 17 names (the listing finds any other the schema holds).
    assert {"access_log", "retention_removals", "retention_progress", "erasure_requests", "erasure_progress",
            "erasure_certificates"} <= set(tables), tables
    return tables


@pytest.fixture(scope="module")
def tenant_owner_roles(pipeline_conn, refreshed_tenant) -> list[str]:
    """Two tenants' owner roles: the refreshed tenant's, and a fresh one made the way the pipeline makes them."""
    other = "t" + secrets.token_hex(6)
    pipeline_conn.execute("select provisioning.ensure_tenant_owner(%s)", (other,))
    return [f"{refreshed_tenant.tenant_id}_owner", f"{other}_owner"]


@contextmanager
def acting_as(pipeline_conn, settings, pipeline_stack, admin, who: str):
    """A connection working as `who`: pipeline, a tenant owner role (a tenant's job under SET ROLE), analyst, or
    compliance (its own login, from Vault)."""
    if who == "pipeline":
        yield pipeline_conn
    elif who.endswith("_owner"):
        pipeline_conn.execute(sql.SQL("set role {}").format(sql.Identifier(who)))
        try:
            yield pipeline_conn
        finally:
            pipeline_conn.execute("reset role")
    elif who == "analyst":
        with login_as_analyst(settings) as conn:
            yield conn
    else:
        from orchestration.compliance.session import compliance_session

        with compliance_session(settings) as session:
            yield session.conn


def _acl(admin, table: str):
    return admin.execute("select relacl::text, pg_get_userbyid(relowner) from pg_class"
                         " where oid = %s::regclass", (f"audit.{table}",)).fetchone()


def _denied(conn: psycopg.Connection, statement: sql.Composable) -> None:
    """The statement fails for lack of privilege (inside a transaction that is rolled back in any case)."""
    with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction(force_rollback=True):
        conn.execute(statement)


TABLE_ATTACKS = (
    "insert into audit.{} default values",
    "update audit.{} set tenant_id = tenant_id",
    "delete from audit.{}",
    "truncate audit.{}",
    "drop table audit.{}",
    "alter table audit.{} add column forged text",
    "alter table audit.{} disable trigger all",
    "alter table audit.{} owner to current_user",
)


@pytest.mark.parametrize("who", ["pipeline", "owner", "analyst", "compliance"])
def test_no_application_role_can_write_alter_drop_or_share_an_audit_table(who, pipeline_conn, settings,
                                                                         pipeline_stack, admin, audit_tables,
                                                                         tenant_owner_roles):
    roles = tenant_owner_roles if who == "owner" else [who]
    for role in roles:
        before = {table: _acl(admin, table) for table in audit_tables}
        with acting_as(pipeline_conn, settings, pipeline_stack, admin, role) as conn:
            for table in audit_tables:
                for attack in TABLE_ATTACKS:
                    _denied(conn, sql.SQL(attack).format(sql.Identifier(table)))
                # GRANT by a role holding some privilege without grant option only warns: what counts is that
                # nothing was granted (compared below).
                for grant in ("grant all on audit.{} to public", "grant select on audit.{} to all_tenants_analyst"):
                    try:
                        with conn.transaction():
                            conn.execute(sql.SQL(grant).format(sql.Identifier(table)))
                    except psycopg.errors.InsufficientPrivilege:
                        pass
            _denied(conn, sql.SQL("drop schema audit cascade"))
            _denied(conn, sql.SQL("create table audit.forged (id int)"))
        assert {table: _acl(admin, table) for table in audit_tables} == before, role
    owners = {table: _acl(admin, table)[1] for table in audit_tables}
    assert set(owners.values()) == {"retkee_admin"}, owners


@pytest.mark.parametrize("who", ["pipeline", "owner", "analyst", "compliance"])
def test_no_application_role_may_create_in_the_database_or_make_a_schema(who, pipeline_conn, settings,
                                                                               pipeline_stack, admin,
                                                                               tenant_owner_roles):
    another_tenant = "t" + secrets.token_hex(6)
    roles = tenant_owner_roles if who == "owner" else [who]
    for role in roles:
        with acting_as(pipeline_conn, settings, pipeline_stack, admin, role) as conn:
            assert conn.execute("select has_database_privilege(current_user, current_database(), 'CREATE')"
                                ).fetchone() == (False,), role
            for name in (f"{another_tenant}_raw", f"{another_tenant}_marts", "probe", "audit2"):
                _denied(conn, sql.SQL("create schema {}").format(sql.Identifier(name)))
                _denied(conn, sql.SQL("create schema if not exists {}").format(sql.Identifier(name)))
            _denied(conn, sql.SQL("create schema {} authorization current_user").format(
                sql.Identifier(f"{another_tenant}_staging")))


def test_a_tenants_four_schemas_are_made_by_provisioning_and_owned_by_its_role(admin, tenant_owner_roles):
    for role in tenant_owner_roles:
        tenant_id = role.removesuffix("_owner")
        found = dict(admin.execute(
            "select nspname, pg_get_userbyid(nspowner) from pg_namespace where starts_with(nspname, %s)",
            (f"{tenant_id}_",)).fetchall())
        assert found == {f"{tenant_id}_{layer}": role for layer in ("raw", "staging", "marts", "quarantine")}


def test_the_pipeline_appends_only_through_the_functions_it_is_given(pipeline_conn, admin):
    """The pipeline executes the append functions and nothing else in the schema; the functions run as the
    administrator with a pinned search_path (a planted object earlier on the path cannot take a call over)."""
    functions = admin.execute(
        "select p.oid::regprocedure::text, p.prosecdef, p.proconfig, pg_get_userbyid(p.proowner),"
        " has_function_privilege('pipeline', p.oid, 'EXECUTE'), has_function_privilege('public', p.oid, 'EXECUTE')"
        " from pg_proc p where p.pronamespace = 'audit'::regnamespace order by 1").fetchall()
    executable = {name for name, *_, pipeline, _public in functions if pipeline}
    assert {"audit.issue_erasure_certificate(text,text,timestamp with time zone,timestamp with time zone,"
            "timestamp with time zone,text,text[],jsonb,jsonb,boolean,jsonb,text,text)",
            "audit.record_erasure_attempt(text,text)", "audit.record_access(text,text,text,text,text[],text[],text,"
            "text,text,timestamp with time zone,timestamp with time zone)"} <= executable, executable
    for name, definer, config, owner, _pipeline, public in functions:
        assert definer and owner == "retkee_admin" and not public, name
        assert "search_path=pg_catalog, pg_temp" in (config or []), (name, config)
    # A request is recorded once; a second one changes nothing (no update through the append function).
    tenant_id = "t" + secrets.token_hex(6)
    pipeline_conn.execute("select audit.record_erasure_request(%s, 'seller', 'DSR-1')", (tenant_id,))
    first = admin.execute("select requested_at, requested_by, request_id from audit.erasure_requests"
                          " where tenant_id = %s", (tenant_id,)).fetchone()
    pipeline_conn.execute("select audit.record_erasure_request(%s, 'operator', 'DSR-2')", (tenant_id,))
    assert admin.execute("select requested_at, requested_by, request_id from audit.erasure_requests"
                         " where tenant_id = %s",
                         (tenant_id,)).fetchone() == first
    admin.execute("delete from audit.erasure_requests where tenant_id = %s", (tenant_id,))
    # The attempt function appends a run id and nothing else: the recorded inventory stays the first one.
    pipeline_conn.execute("select audit.start_erasure(%s, null, %s, null)", (tenant_id, json.dumps({"tables": 3})))
    pipeline_conn.execute("select audit.start_erasure(%s, null, %s, null)", (tenant_id, json.dumps({"tables": 0})))
    inventory, _canary, _started, run_ids = pipeline_conn.execute(
        "select * from audit.record_erasure_attempt(%s, 'run-1')", (tenant_id,)).fetchone()
    assert inventory == {"tables": 3} and run_ids == ["run-1"]
    admin.execute("delete from audit.erasure_progress where tenant_id = %s", (tenant_id,))


# --- the signing key ------------------------------------------------------------------------------------------
def _key_attacks(client: hvac.Client):
    transit = client.secrets.transit
    return {
        "delete": lambda: transit.delete_key(SIGNING_KEY, mount_point=TRANSIT),
        "make deletable": lambda: transit.update_key_configuration(SIGNING_KEY, deletion_allowed=True,
                                                                    mount_point=TRANSIT),
        "strand old versions": lambda: transit.update_key_configuration(SIGNING_KEY, min_decryption_version=2,
                                                                         mount_point=TRANSIT),
        "make exportable": lambda: transit.update_key_configuration(SIGNING_KEY, exportable=True,
                                                                     mount_point=TRANSIT),
        "rotate": lambda: transit.rotate_key(SIGNING_KEY, mount_point=TRANSIT),
        "trim": lambda: transit.trim_key(SIGNING_KEY, min_version=1, mount_point=TRANSIT),
        "export": lambda: transit.export_key(SIGNING_KEY, key_type="signing-key", mount_point=TRANSIT),
        "back up": lambda: transit.backup_key(SIGNING_KEY, mount_point=TRANSIT),
        "restore over": lambda: transit.restore_key("AAAA", name=SIGNING_KEY, force=True, mount_point=TRANSIT),
        "recreate": lambda: transit.create_key(SIGNING_KEY, key_type="ed25519", exportable=True,
                                               mount_point=TRANSIT),
        "sign": lambda: transit.sign_data(SIGNING_KEY, hash_input="cHJvYmU=", mount_point=TRANSIT),
        "verify": lambda: transit.verify_signed_data(SIGNING_KEY, hash_input="cHJvYmU=",
                                                     signature="vault:v1:AAAA", mount_point=TRANSIT),
    }


# Who may do what with the signing key: erasure signs and verifies, compliance verifies (and reads its public
# key); every other operation is denied to every duty.
ALLOWED = {"erasure": {"sign", "verify"}, "compliance": {"verify"}}


@pytest.mark.parametrize("duty", ["pipeline", "onboarding", "erasure", "key-release", "rotation", "compliance"])
def test_no_duty_may_delete_configure_rotate_or_export_the_signing_key(duty, pipeline_stack):
    from local_stack.vault import OpenBaoServer, approle_login

    client = approle_login(pipeline_stack, duty)
    for operation, attempt in _key_attacks(client).items():
        if operation in ALLOWED.get(duty, set()):
            try:
                attempt()
            except hvac.exceptions.InvalidRequest:
                pass  # past the policy: Vault only refused the probe's made-up signature
            continue
        with pytest.raises(hvac.exceptions.Forbidden):
            attempt()
    key = OpenBaoServer(pipeline_stack).root_client().secrets.transit.read_key(SIGNING_KEY, mount_point=TRANSIT)
    data = key["data"]
    assert (data["type"], data["exportable"], data["deletion_allowed"], data["allow_plaintext_backup"],
            data["latest_version"], data["min_decryption_version"]) == ("ed25519", False, False, False, 1, 1)


def test_the_erasure_duty_still_deletes_tenant_keys(pipeline_stack):
    """The guard is for the signing key alone: key-release can still make a tenant key deletable, and erasure
    delete it."""
    from local_stack.vault import OpenBaoServer, approle_login

    name = "tenant-t" + secrets.token_hex(6)
    OpenBaoServer(pipeline_stack).root_client().secrets.transit.create_key(name, mount_point=TRANSIT)
    approle_login(pipeline_stack, "key-release").secrets.transit.update_key_configuration(
        name, deletion_allowed=True, mount_point=TRANSIT)
    transit = approle_login(pipeline_stack, "erasure").secrets.transit
    transit.delete_key(name, mount_point=TRANSIT)
    with pytest.raises(hvac.exceptions.InvalidPath):
        transit.read_key(name, mount_point=TRANSIT)


# --- signed certificates ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def erased_tenant(settings, onboard, instance) -> str:
    from orchestration.defs.resources import open_session
    from orchestration.erasure_now import run_erasure_now

    _, tenant = onboard("A1SIGNEDCERT001", profile={"skus": 2, "orders_per_day": 3})
    with open_session(settings) as session:
        session.registry.set_status(tenant.tenant_id, "revoked", "revoked by operator")
    assert run_erasure_now(tenant.tenant_id, instance) == (True, None)
    return tenant.tenant_id


def _verify(tenant_id: str):
    from orchestration.cli import app

    return CliRunner().invoke(app, ["erasure", "verify", tenant_id])


def test_an_untouched_certificate_verifies(erased_tenant, admin):
    signature, record = admin.execute("select signature, signed_record from audit.erasure_certificates"
                                      " where tenant_id = %s", (erased_tenant,)).fetchone()
    assert signature.startswith("vault:v1:")
    signed = json.loads(record)
    assert signed["tenant_id"] == erased_tenant and signed["verified"] is True
    assert {"destroyed", "verification", "trigger", "started_at", "finished_at"} <= set(signed)
    answer = _verify(erased_tenant)
    assert answer.exit_code == 0, answer.output
    lines = answer.output.splitlines()
    assert lines[0].startswith("signature: valid") and lines[1] == "inventory: as signed"
    assert lines[-1] == f"certificate of tenant {erased_tenant}: VALID"


def test_a_certificate_edited_by_the_superuser_is_reported_altered_naming_what_differs(erased_tenant, admin):
    original = admin.execute("select destroyed, finished_at, signed_record from audit.erasure_certificates"
                             " where tenant_id = %s", (erased_tenant,)).fetchone()
    try:
        # The inventory: more tables claimed destroyed than there were, and a later finish.
        admin.execute("update audit.erasure_certificates set destroyed = jsonb_set(destroyed, '{tables}', '99'),"
                      " finished_at = finished_at + interval '1 day' where tenant_id = %s", (erased_tenant,))
        answer = _verify(erased_tenant)
        assert answer.exit_code == 1, answer.output
        lines = answer.output.splitlines()
        assert lines[0].startswith("signature: valid")  # the signed record itself is intact...
        assert lines[1] == "inventory: ALTERED: destroyed.tables differ from the signed record"  # ...the row is not
        assert lines[2] == "other fields: ALTERED: finished_at differ from the signed record"
        assert lines[-1] == f"certificate of tenant {erased_tenant}: ALTERED"
        # Editing the signed record to match breaks the signature.
        admin.execute("update audit.erasure_certificates set signed_record = replace(signed_record, '\"tables\":',"
                      " '\"tables\":1') where tenant_id = %s", (erased_tenant,))
        answer = _verify(erased_tenant)
        assert answer.exit_code == 1 and answer.output.splitlines()[0].startswith("signature: INVALID"), answer.output
    finally:
        admin.execute("update audit.erasure_certificates set destroyed = %s, finished_at = %s, signed_record = %s"
                      " where tenant_id = %s", (json.dumps(original[0]), original[1], original[2], erased_tenant))
    assert _verify(erased_tenant).exit_code == 0


def test_a_certificate_forged_through_the_pipelines_append_function_does_not_verify(pipeline_conn, admin,
                                                                                     erased_tenant):
    real = admin.execute("select signed_record, signature from audit.erasure_certificates where tenant_id = %s",
                         (erased_tenant,)).fetchone()
    forged = "t" + secrets.token_hex(6)
    # A real signature of another certificate, over a record naming the forged tenant.
    record = json.loads(real[0]) | {"tenant_id": forged}
    try:
        pipeline_conn.execute(
            "select audit.issue_erasure_certificate(%s, 'revoked', null, now(), now(), 'forged', '{}', %s, %s, true,"
            " '{}', %s, %s)", (forged, json.dumps(record["destroyed"]), json.dumps(record["verification"]),
                               json.dumps(record, sort_keys=True, separators=(",", ":")), real[1]))
        answer = _verify(forged)
        assert answer.exit_code == 1 and answer.output.splitlines()[0].startswith("signature: INVALID"), answer.output
    finally:
        admin.execute("delete from audit.erasure_certificates where tenant_id = %s", (forged,))


def test_an_unsigned_certificate_is_reported_so(erased_tenant, admin):
    """Certificates of an older warehouse carry no signature: they are never called valid."""
    from dataclasses import replace

    from orchestration.retain.certificate import check_certificate, read_certificate

    certificate = read_certificate(admin, erased_tenant)
    check = check_certificate(replace(certificate, signature=None, signed_record=None), signer=None)
    assert (check.signature, check.valid) == ("missing", False)


# --- an older warehouse -----------------------------------------------------------------------------------------
def test_an_older_warehouse_is_migrated_by_provisioning(pipeline_stack, admin, pipeline_conn, tenant_owner_roles):
    """What an earlier version left (the pipeline owning the erasure tables and the retention plans, with CREATE
    on the audit schema; an owner role with CREATE on the database) is put right by `up`'s provisioning and by
    the tenant's next scope. Runs last: it leaves the stack as provisioning makes it."""
    from local_stack.postgres import PostgresCluster

    legacy = ("erasure_requests", "erasure_progress", "erasure_certificates", "retention_progress")
    for table in legacy:
        admin.execute(sql.SQL("alter table audit.{} owner to pipeline").format(sql.Identifier(table)))
    admin.execute("grant create on schema audit to pipeline")
    owner = tenant_owner_roles[1]
    admin.execute(sql.SQL("grant create on database warehouse to {}").format(sql.Identifier(owner)))
    assert pipeline_conn.execute("select has_table_privilege('audit.erasure_certificates', 'DELETE')").fetchone()[0]

    PostgresCluster(pipeline_stack, user=None, bindir=None).bootstrap()  # what `python -m local_stack up` runs
    pipeline_conn.execute("select provisioning.ensure_tenant_owner(%s)", (owner.removesuffix("_owner"),))

    for table in legacy:
        assert _acl(admin, table)[1] == "retkee_admin", table
        for privilege in ("INSERT", "UPDATE", "DELETE", "TRUNCATE"):
            assert not pipeline_conn.execute("select has_table_privilege(%s, %s)",
                                             (f"audit.{table}", privilege)).fetchone()[0], (table, privilege)
    assert not pipeline_conn.execute("select has_schema_privilege('audit', 'CREATE')").fetchone()[0]
    assert not admin.execute("select has_database_privilege(%s, 'warehouse', 'CREATE')", (owner,)).fetchone()[0]
