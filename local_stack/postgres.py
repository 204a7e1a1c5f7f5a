"""The project-local PostgreSQL 15 cluster: install check, initdb, TLS-only configuration, start/stop, roles.

The cluster lives in `.data/pg/data`, listens on 127.0.0.1 only and accepts nothing but `hostssl` with
scram-sha-256 (no `host`, no `local` lines): plain TCP and Unix-socket connections are refused.
Admin work connects as `retkee_admin` over TLS with `sslmode=verify-full` against the local CA.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from pathlib import Path

import psycopg
from psycopg import sql

from local_stack.config import PORT_SETTINGS, StackConfig
from local_stack.errors import StackError
from local_stack.osuser import PgUser
from local_stack.ports import require_free_port
from local_stack.processes import pid_alive
from local_stack.secret_files import random_password, read_json, write_private_json
from orchestration.compliance.audit_schema import (
    ACCESS_LOG_DDL,
    ACCESS_LOG_INDEX_DDL,
    APPEND_FUNCTIONS,
    AUDIT_LOG_TABLES,
    COMPLIANCE_FUNCTIONS,
    RETENTION_AUDIT_DDL,
)
from orchestration.extract.quota_store import QUOTA_ROLE, quota_sql
from orchestration.fx.store import SCHEMA as REFERENCE_SCHEMA
from orchestration.retain.certificate import ERASURE_DDL, ERASURE_FUNCTIONS, ERASURE_TABLES
from orchestration.serve.analyst_logins import LOGIN_MAX_TTL_HOURS
from orchestration.warehouse.control import CONTROL_SCHEMA
from orchestration.warehouse.grants import (
    ALL_TENANTS_ANALYST_GROUP,
    ALL_TENANTS_SCOPE,
    ANALYST_GROUP_SUFFIX,
    ANALYST_LOGIN_ISSUER_ROLE,
)
from orchestration.warehouse.schemas import LAYERS

SUPERUSER = "retkee_admin"
PREFERRED_MAJOR = "15"
WAREHOUSE_DB = "warehouse"
DAGSTER_DB = "dagster"
PIPELINE_ROLE = "pipeline"
DAGSTER_ROLE = "dagster"
COMPLIANCE_ROLE = "compliance"
# The issuer's password is set once by the stack's bootstrap, handed to OpenBao and rotated there (vault.py):
# afterwards only OpenBao knows it.
# The shared SP-API buckets' login (QUOTA_ROLE) may use its own schema's one table and nothing else.
LOGIN_ROLES = (PIPELINE_ROLE, DAGSTER_ROLE, COMPLIANCE_ROLE, ANALYST_LOGIN_ISSUER_ROLE, QUOTA_ROLE)
GROUP_ROLES = (ALL_TENANTS_ANALYST_GROUP,)
# The one group every analyst shared before per-tenant groups; dropped on `up` (it read every tenant's marts).
LEGACY_ANALYST_ROLE = "analyst"

# The audit schema and everything in it belong to the administrator: the access log, the retention records and
# the erasure evidence (requests, progress, certificates). The pipeline reads what it must and appends only through
# SECURITY DEFINER functions with a pinned search_path, one per transition (audit_schema.py, retain/certificate.py):
# no INSERT, UPDATE, DELETE or TRUNCATE of its own, no CREATE in the schema, and owning nothing there it cannot
# drop, alter or grant anything. The compliance role reads everything in it; nobody else sees it.
# Warehouses made before this (the pipeline created and owned the erasure tables and audit.retention_progress,
# and held CREATE on the schema) are migrated here on every `up`: ownership handed to the administrator, the
# pipeline's grants narrowed to these.
_AUDIT_TABLES = (*AUDIT_LOG_TABLES, *ERASURE_TABLES)
# What the pipeline reads back: whether a run is logged (run_id only), new removals (the marts-rebuild sensor),
# an unfinished removal's plan, and the erasure records (requests, progress, whether a certificate exists).
_PIPELINE_READS = {"access_log": "SELECT (run_id)", "retention_removals": "SELECT", "retention_progress": "SELECT",
                   "erasure_requests": "SELECT", "erasure_progress": "SELECT", "erasure_certificates": "SELECT"}
_AUDIT_SQL = [
    f"CREATE SCHEMA IF NOT EXISTS audit AUTHORIZATION {SUPERUSER}",
    f"ALTER SCHEMA audit OWNER TO {SUPERUSER}",
    "REVOKE ALL ON SCHEMA audit FROM PUBLIC",
    f"REVOKE ALL ON SCHEMA audit FROM {PIPELINE_ROLE}",
    f"GRANT USAGE ON SCHEMA audit TO {PIPELINE_ROLE}",
    f"GRANT USAGE ON SCHEMA audit TO {COMPLIANCE_ROLE}",
    ACCESS_LOG_DDL,
    ACCESS_LOG_INDEX_DDL,
    # The retention records and plans; both logs lose rows only through audit.prune_audit_logs, which keeps at
    # least 12 months whatever it is asked (docs/retention.md).
    *RETENTION_AUDIT_DDL,
    *ERASURE_DDL,
    # Anything else the pipeline still owns in the schema (an older version's table) becomes the administrator's.
    f"""
    DO $do$ DECLARE r record; BEGIN
        FOR r IN SELECT c.relname, c.relkind FROM pg_class c
                 WHERE c.relnamespace = 'audit'::regnamespace AND c.relowner = '{PIPELINE_ROLE}'::regrole
                   AND c.relkind IN ('r', 'p', 'v', 'S') LOOP
            EXECUTE format(CASE r.relkind WHEN 'v' THEN 'ALTER VIEW audit.%I OWNER TO {SUPERUSER}'
                                          WHEN 'S' THEN 'ALTER SEQUENCE audit.%I OWNER TO {SUPERUSER}'
                                          ELSE 'ALTER TABLE audit.%I OWNER TO {SUPERUSER}' END, r.relname);
        END LOOP;
    END $do$
    """,  # noqa: S608 - module constants only
    *(statement for table in _AUDIT_TABLES for statement in (
        f"ALTER TABLE audit.{table} OWNER TO {SUPERUSER}",
        f"REVOKE ALL ON audit.{table} FROM PUBLIC, {PIPELINE_ROLE}",
        f"GRANT {_PIPELINE_READS[table]} ON audit.{table} TO {PIPELINE_ROLE}",
    )),
    *(statement for function in (*APPEND_FUNCTIONS, *ERASURE_FUNCTIONS, "audit.prune_audit_logs(integer)")
      for statement in (
        f"ALTER FUNCTION {function} OWNER TO {SUPERUSER}",
        f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION {function} TO {PIPELINE_ROLE}",
    )),
    # Compliance sees the oldest partition day of each tenant table, and nothing else of it; and the TLS of the
    # connections (settings and counts, never a query).
    *(statement for function in COMPLIANCE_FUNCTIONS for statement in (
        f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION {function} TO {COMPLIANCE_ROLE}",
    )),
    f"GRANT SELECT ON ALL TABLES IN SCHEMA audit TO {COMPLIANCE_ROLE}",
    f"ALTER DEFAULT PRIVILEGES FOR ROLE {SUPERUSER} IN SCHEMA audit GRANT SELECT ON TABLES TO {COMPLIANCE_ROLE}",
]

# Per-tenant ownership: one NOLOGIN role per tenant owns that tenant's schemas. The pipeline may not create
# roles (CREATEROLE would let it grant itself far more), so it asks these administrator-owned functions, which
# accept nothing but a tenant id and touch exactly `<tenant>_owner`. A tenant's job runs under
# `SET ROLE <tenant>_owner` (orchestration/warehouse/grants.py: extraction, cost imports, dbt's profile `role:`)
# and cannot reach another tenant's schemas.
#
# ensure_tenant_owner creates the role and gives it what a tenant's job needs and nothing else: CONNECT and
# TEMPORARY on the warehouse (dbt's unit tests and incremental builds use temporary tables; the check is made
# against the role set by SET ROLE, not the login), its four schemas `<tenant>_raw|staging|marts|quarantine`
# (created here AUTHORIZATION the role: the role has no CREATE on the database, so it cannot make a schema of its
# own, another tenant's name included; dbt creates only the schemas it does not find, and finds all four), and
# membership for the pipeline (to SET ROLE to it, hand what it made before to it and drop it at erasure). dbt reads
# nothing outside the tenant's own schemas (sources are `<tenant>_raw`, unit costs included) but the shared public
# reference rates. A role or schema made by an earlier version of this function is brought in line on its next
# call (CREATE on the database taken back, a schema still owned by the pipeline handed over; the relations in it
# are handed over by orchestration/warehouse/grants.py). An erased tenant gets nothing back. The fast path
# (everything in place) writes nothing; changes are serialised by one lock, since two concurrent GRANTs on the same
# database row fail with "tuple concurrently updated".
#
# It also makes the tenant's read-only analyst group `<tenant>_analyst` (CONNECT; its marts grants come from the
# owner role, grants.py) and makes the all-tenants group a member of it.
#
# drop_tenant_owner is erasure's last database step (orchestration/retain/erasure.py): DROP ROLE needs
# CREATEROLE, which the pipeline must not have. It refuses while the tenant is active. It drops the analyst group
# too, and any analyst login still in it.
_PROVISIONING_SQL = [
    # The pipeline's own shared schemas (the tenant registry; the public reference rates), made for it: it may
    # not create schemas itself.
    *(f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {PIPELINE_ROLE}" for schema in (CONTROL_SCHEMA,
                                                                                        REFERENCE_SCHEMA)),
    f"CREATE SCHEMA IF NOT EXISTS provisioning AUTHORIZATION {SUPERUSER}",
    "REVOKE ALL ON SCHEMA provisioning FROM PUBLIC",
    f"GRANT USAGE ON SCHEMA provisioning TO {PIPELINE_ROLE}",
    f"""
    CREATE OR REPLACE FUNCTION provisioning.ensure_tenant_owner(tenant_id text) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    DECLARE
        owner_role text;
        analyst_group text;
        all_tenants_group constant text := '{ALL_TENANTS_ANALYST_GROUP}';
        pipeline_role constant text := '{PIPELINE_ROLE}';
        layers constant text[] := ARRAY[{", ".join(f"'{layer}'" for layer in LAYERS)}];
        missing text[];
        layer text;
        tenant_schema text;
        schema_owner text;
    BEGIN
        IF tenant_id IS NULL OR tenant_id !~ '^t[0-9a-f]{{12}}$' THEN
            RAISE EXCEPTION 'not a tenant id: %', tenant_id USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF to_regclass('control.tenants') IS NOT NULL AND EXISTS (
            SELECT 1 FROM control.tenants t WHERE t.tenant_id = ensure_tenant_owner.tenant_id AND t.status = 'erased'
        ) THEN
            RAISE EXCEPTION 'tenant % is erased; it gets no role or schema again', tenant_id
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        owner_role := tenant_id || '_owner';
        analyst_group := tenant_id || '{ANALYST_GROUP_SUFFIX}';
        FOR attempt IN 1..2 LOOP
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = owner_role) THEN
                missing := ARRAY['role', 'CONNECT', 'TEMPORARY', 'member', 'schemas'];
            ELSE
                -- One privilege at a time: has_database_privilege is true if ANY of a list is held.
                SELECT coalesce(array_agg(p), '{{}}') INTO missing
                FROM unnest(ARRAY['CONNECT', 'TEMPORARY']) AS p
                WHERE NOT has_database_privilege(owner_role, current_database(), p);
                IF has_database_privilege(owner_role, current_database(), 'CREATE') THEN
                    missing := array_append(missing, 'no CREATE');
                END IF;
                IF NOT pg_has_role(pipeline_role, owner_role, 'MEMBER') THEN
                    missing := array_append(missing, 'member');
                END IF;
                IF EXISTS (SELECT 1 FROM unnest(layers) AS l
                           LEFT JOIN pg_namespace n ON n.nspname = tenant_id || '_' || l
                           WHERE n.oid IS NULL OR n.nspowner <> owner_role::regrole::oid) THEN
                    missing := array_append(missing, 'schemas');
                END IF;
            END IF;
            -- The tenant's read-only analyst group: CONNECT only (its marts grants come from the owner role,
            -- grants.py), and the all-tenants group a member of it.
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = analyst_group) THEN
                missing := array_append(missing, 'analyst group');
            ELSIF NOT has_database_privilege(analyst_group, current_database(), 'CONNECT')
                  OR NOT pg_has_role(all_tenants_group, analyst_group, 'MEMBER') THEN
                missing := array_append(missing, 'analyst grants');
            END IF;
            EXIT WHEN cardinality(missing) = 0 OR attempt = 2;
            -- Something to change: take the lock, then look again (another session may have done it).
            PERFORM pg_advisory_xact_lock(hashtext('retkee.provisioning'));
        END LOOP;
        IF 'role' = ANY(missing) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS', owner_role);
        END IF;
        IF 'analyst group' = ANY(missing) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS', analyst_group);
        END IF;
        IF missing && ARRAY['analyst group', 'analyst grants'] THEN
            EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), analyst_group);
            EXECUTE format('GRANT %I TO %I', analyst_group, all_tenants_group);
        END IF;
        IF missing && ARRAY['CONNECT', 'TEMPORARY'] THEN
            EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), owner_role);
        END IF;
        IF 'no CREATE' = ANY(missing) THEN
            EXECUTE format('REVOKE CREATE ON DATABASE %I FROM %I', current_database(), owner_role);
        END IF;
        IF 'member' = ANY(missing) THEN
            EXECUTE format('GRANT %I TO %I', owner_role, pipeline_role);
        END IF;
        IF 'schemas' = ANY(missing) THEN
            FOREACH layer IN ARRAY layers LOOP
                tenant_schema := tenant_id || '_' || layer;
                SELECT pg_get_userbyid(n.nspowner) INTO schema_owner
                FROM pg_namespace n WHERE n.nspname = tenant_schema;
                IF NOT FOUND THEN
                    EXECUTE format('CREATE SCHEMA %I AUTHORIZATION %I', tenant_schema, owner_role);
                ELSIF schema_owner = pipeline_role THEN
                    EXECUTE format('ALTER SCHEMA %I OWNER TO %I', tenant_schema, owner_role);
                ELSIF schema_owner <> owner_role THEN
                    RAISE EXCEPTION 'schema % belongs to %, not to %', tenant_schema, schema_owner, owner_role
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
            END LOOP;
        END IF;
        RETURN owner_role;
    END
    $fn$
    """,  # noqa: S608 - module constants only; the tenant id is checked by the function itself
    "REVOKE ALL ON FUNCTION provisioning.ensure_tenant_owner(text) FROM PUBLIC",
    f"GRANT EXECUTE ON FUNCTION provisioning.ensure_tenant_owner(text) TO {PIPELINE_ROLE}",
    f"""
    CREATE OR REPLACE FUNCTION provisioning.drop_tenant_owner(tenant_id text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    DECLARE
        owner_role text;
        analyst_group text;
        login text;
        dropped boolean := false;
    BEGIN
        IF tenant_id IS NULL OR tenant_id !~ '^t[0-9a-f]{{12}}$' THEN
            RAISE EXCEPTION 'not a tenant id: %', tenant_id USING ERRCODE = 'invalid_parameter_value';
        END IF;
        owner_role := tenant_id || '_owner';
        analyst_group := tenant_id || '{ANALYST_GROUP_SUFFIX}';
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname IN (owner_role, analyst_group)) THEN
            RETURN false;
        END IF;
        IF to_regclass('control.tenants') IS NOT NULL AND EXISTS (
            SELECT 1 FROM control.tenants t WHERE t.tenant_id = drop_tenant_owner.tenant_id AND t.status = 'active'
        ) THEN
            RAISE EXCEPTION 'tenant % is active; only an erased tenant loses its role', tenant_id
                USING ERRCODE = 'object_in_use';
        END IF;
        PERFORM pg_advisory_xact_lock(hashtext('retkee.provisioning'));
        -- Analyst logins still in the tenant's group (erasure revoked their leases in OpenBao first; this is
        -- for one OpenBao could not reach): their sessions ended, the login dropped; then the group.
        FOR login IN SELECT m.rolname FROM pg_auth_members a JOIN pg_roles m ON m.oid = a.member
                     WHERE a.roleid = (SELECT oid FROM pg_roles WHERE rolname = analyst_group)
                       AND starts_with(m.rolname, analyst_group || '_') LOOP
            PERFORM pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = login;
            EXECUTE format('DROP ROLE %I', login);
        END LOOP;
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = analyst_group) THEN
            EXECUTE format('DROP OWNED BY %I', analyst_group);
            EXECUTE format('DROP ROLE %I', analyst_group);
            dropped := true;
        END IF;
        -- What the role still owns in this database (erasure dropped its schemas first) and every privilege
        -- granted to it, the database's included; then the role and its membership grants.
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = owner_role) THEN
            EXECUTE format('DROP OWNED BY %I', owner_role);
            EXECUTE format('DROP ROLE %I', owner_role);
            dropped := true;
        END IF;
        RETURN dropped;
    END
    $fn$
    """,  # noqa: S608 - module constants only; the tenant id is checked by the function itself
    "REVOKE ALL ON FUNCTION provisioning.drop_tenant_owner(text) FROM PUBLIC",
    f"GRANT EXECUTE ON FUNCTION provisioning.drop_tenant_owner(text) TO {PIPELINE_ROLE}",
]

# Analyst logins (docs/security.md, "Analyst logins"): OpenBao's database secrets engine makes and drops them as
# `analyst_login_issuer`, whose only rights are CONNECT and these three functions. Not CREATEROLE: in PostgreSQL
# 15 a CREATEROLE role may create, alter or drop any non-superuser role and grant membership in any of them, the
# pipeline and every `<tenant>_owner` included, so a leaked issuer password would open every tenant's raw data.
# Through these functions it can only make a login named `<group>_<12 random characters>` in one analyst group
# (a tenant's, while the tenant is active, or the all-tenants group), expiring within the maximum TTL; move that
# expiry; and end such a login's sessions and drop it. The functions check every name they are given.
_LOGIN_NAME = f"^(t[0-9a-f]{{12}}|{ALL_TENANTS_SCOPE}){ANALYST_GROUP_SUFFIX}_[a-z0-9]{{12}}$"
_LOGIN_CHECK = f"""
        IF login IS NULL OR login !~ '{_LOGIN_NAME}' THEN
            RAISE EXCEPTION 'not an analyst login name: %', login USING ERRCODE = 'invalid_parameter_value';
        END IF;"""
_UNTIL_CHECK = f"""
        IF valid_until IS NULL
           OR valid_until::timestamptz > now() + interval '{LOGIN_MAX_TTL_HOURS} hours 1 minute' THEN
            RAISE EXCEPTION 'an analyst login expires within {LOGIN_MAX_TTL_HOURS} hours (asked: %)', valid_until
                USING ERRCODE = 'invalid_parameter_value';
        END IF;"""
_ANALYST_LOGIN_SQL = [
    f"""
    CREATE OR REPLACE FUNCTION provisioning.issue_analyst_login(login text, password text, valid_until text)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    DECLARE
        scope text;
        analyst_group text;
    BEGIN{_LOGIN_CHECK}{_UNTIL_CHECK}
        scope := substring(login from '^(t[0-9a-f]{{12}}|{ALL_TENANTS_SCOPE}){ANALYST_GROUP_SUFFIX}_');
        analyst_group := scope || '{ANALYST_GROUP_SUFFIX}';
        -- Nested, not one condition: the registry exists only once the pipeline has run, and a statement naming
        -- a missing table fails when planned, whatever the other operand says.
        IF scope <> '{ALL_TENANTS_SCOPE}' THEN
            IF to_regclass('control.tenants') IS NULL THEN
                RAISE EXCEPTION 'no tenant registry yet' USING ERRCODE = 'object_not_in_prerequisite_state';
            END IF;
            IF NOT EXISTS (SELECT 1 FROM control.tenants t WHERE t.tenant_id = scope AND t.status = 'active') THEN
                RAISE EXCEPTION 'tenant % is not active; it gets no analyst login', scope
                    USING ERRCODE = 'object_not_in_prerequisite_state';
            END IF;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = analyst_group) THEN
            RAISE EXCEPTION 'no analyst group % yet (the tenant''s marts were never built)', analyst_group
                USING ERRCODE = 'undefined_object';
        END IF;
        EXECUTE format('CREATE ROLE %I WITH LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION'
                       ' NOBYPASSRLS PASSWORD %L VALID UNTIL %L IN ROLE %I', login, password, valid_until,
                       analyst_group);
    END
    $fn$
    """,  # noqa: S608 - module constants only; the function checks its arguments
    f"""
    CREATE OR REPLACE FUNCTION provisioning.renew_analyst_login(login text, valid_until text)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    BEGIN{_LOGIN_CHECK}{_UNTIL_CHECK}
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = login) THEN
            EXECUTE format('ALTER ROLE %I VALID UNTIL %L', login, valid_until);
        END IF;
    END
    $fn$
    """,  # noqa: S608
    f"""
    CREATE OR REPLACE FUNCTION provisioning.revoke_analyst_login(login text)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    BEGIN{_LOGIN_CHECK}
        -- Its open sessions end with it: an expired or revoked login must not keep reading.
        PERFORM pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = login;
        EXECUTE format('DROP ROLE IF EXISTS %I', login);
    END
    $fn$
    """,  # noqa: S608
    *(statement for function in ("issue_analyst_login(text, text, text)", "renew_analyst_login(text, text)",
                                 "revoke_analyst_login(text)") for statement in (
        f"REVOKE ALL ON FUNCTION provisioning.{function} FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION provisioning.{function} TO {ANALYST_LOGIN_ISSUER_ROLE}",
    )),
    f"GRANT USAGE ON SCHEMA provisioning TO {ANALYST_LOGIN_ISSUER_ROLE}",
]

_HBA = """\
# Written by local_stack (postgres.py). TLS + SCRAM only: there is deliberately no `host` and no `local`
# line, so plain TCP and Unix-socket connections find no matching entry and are refused.
# TYPE   DATABASE  USER  ADDRESS        METHOD
hostssl  all       all   127.0.0.1/32   scram-sha-256
hostssl  all       all   ::1/128        scram-sha-256
"""


def find_bindir() -> Path | None:
    """Directory holding initdb/pg_ctl/postgres: $RETKEE_PG_BINDIR, `pg_config --bindir`, Debian's layout."""
    override = os.environ.get("RETKEE_PG_BINDIR")
    if override:
        return Path(override) if (Path(override) / "initdb").exists() else None
    preferred = Path(f"/usr/lib/postgresql/{PREFERRED_MAJOR}/bin")
    if (preferred / "initdb").exists():
        return preferred
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)  # noqa: S603
        bindir = Path(result.stdout.strip())
        if result.returncode == 0 and (bindir / "initdb").exists():
            return bindir
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def ensure_installed() -> Path:
    """Return the server bindir, installing Debian's `postgresql` package first if we are root."""
    bindir = find_bindir()
    if bindir is not None:
        return bindir
    if os.geteuid() != 0:
        raise StackError(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them with "
            "`sudo apt-get install -y postgresql` (Debian/Ubuntu), or point RETKEE_PG_BINDIR at their "
            "directory."
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update"], ["apt-get", "install", "-y", "postgresql"]):
        print(f"local_stack: PostgreSQL server not found, running: {' '.join(argv)}")
        if subprocess.run(argv, env=env, check=False).returncode != 0:  # noqa: S603
            raise StackError(f"`{' '.join(argv)}` failed; install PostgreSQL 15 by hand and retry.")
    bindir = find_bindir()
    if bindir is None:
        raise StackError("installed the postgresql package but still cannot find initdb.")
    return bindir


# Erasure's residue steps (orchestration/retain/erasure.py, docs/retention.md) with the least privilege PostgreSQL
# 15 allows. Dropped rows stay readable in the file of pg_statistic (the planner's most common values and
# histograms of the tenant's columns) until it is rewritten; VACUUM of it needs a superuser and cannot run in
# a function, but CLUSTER of one table can: provisioning.rewrite_statistics does exactly that and nothing else.
# pg_checkpoint (CHECKPOINT) and EXECUTE on pg_switch_wal let the pipeline push the old WAL out of pg_wal.
_ERASURE_RESIDUE_SQL = [
    """
    CREATE OR REPLACE FUNCTION provisioning.rewrite_statistics() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    BEGIN
        CLUSTER pg_catalog.pg_statistic USING pg_statistic_relid_att_inh_index;
    END
    $fn$
    """,
    "REVOKE ALL ON FUNCTION provisioning.rewrite_statistics() FROM PUBLIC",
    f"GRANT EXECUTE ON FUNCTION provisioning.rewrite_statistics() TO {PIPELINE_ROLE}",
    f"GRANT EXECUTE ON FUNCTION pg_catalog.pg_switch_wal() TO {PIPELINE_ROLE}",
    f"GRANT pg_checkpoint TO {PIPELINE_ROLE}",
]


class PostgresCluster:
    """One cluster in `config.pg_data_dir`, run as `user`."""

    def __init__(self, config: StackConfig, user: PgUser, bindir: Path) -> None:
        self.config = config
        self.user = user
        self.bindir = bindir

    # --- lifecycle ---
    def up(self) -> None:
        """Initialize if needed, (re)write the configuration, start if not running. Idempotent."""
        self._prepare_dirs()
        if not (self.config.pg_data_dir / "PG_VERSION").exists():
            self._initdb()
        if self.running_pid() is None:
            require_free_port(self.config.pg_port, "PostgreSQL", PORT_SETTINGS["pg_port"])
            self._write_config()
            self._pg_ctl("start", "-l", str(self._log_file), "-w", "-t", "60", "-s")
        self._wait_until_accepting()

    def down(self) -> bool:
        if self.running_pid() is None:
            return False
        self._pg_ctl("stop", "-m", "fast", "-w", "-t", "60", "-s")
        return True

    def running_pid(self) -> int | None:
        """PID of the postmaster of this cluster, or None."""
        try:
            first_line = (self.config.pg_data_dir / "postmaster.pid").read_text().splitlines()[0]
            pid = int(first_line)
        except (OSError, ValueError, IndexError):
            return None
        if not pid_alive(pid):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return pid  # no /proc (macOS): trust postmaster.pid
        return pid if b"postgres" in cmdline else None

    # --- admin connection and roles ---
    def superuser_password(self) -> str:
        data = read_json(self.config.pg_superuser_file)
        if data is None:
            raise StackError(
                f"{self.config.pg_superuser_file} is missing but the cluster exists: the superuser password "
                f"is lost. Run `python -m local_stack clean` to start over."
            )
        return data["password"]

    def connect(self, dbname: str = "postgres", user: str = SUPERUSER, password: str | None = None,
                **params: str) -> psycopg.Connection:
        return psycopg.connect(
            host="localhost",
            port=self.config.pg_port,
            dbname=dbname,
            user=user,
            password=password if password is not None else self.superuser_password(),
            sslmode="verify-full",
            sslrootcert=str(self.config.ca_file),
            connect_timeout=10,
            autocommit=True,
            **params,
        )

    def bootstrap(self) -> None:
        """Databases, roles and database-level privileges (idempotent); role passwords are set separately."""
        with self.connect() as conn:
            for database in (WAREHOUSE_DB, DAGSTER_DB):
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
                if not exists:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            for role in (*LOGIN_ROLES, *GROUP_ROLES):
                login = "LOGIN" if role in LOGIN_ROLES else "NOLOGIN"
                attributes = sql.SQL(
                    f"{login} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
                )
                exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
                verb = sql.SQL("ALTER ROLE" if exists else "CREATE ROLE")
                conn.execute(sql.SQL("{} {} {}").format(verb, sql.Identifier(role), attributes))
            conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(DAGSTER_DB), sql.Identifier(DAGSTER_ROLE)))
            # Nobody connects anywhere by default; each role gets exactly the databases it needs.
            for database in (WAREHOUSE_DB, DAGSTER_DB, "postgres"):
                conn.execute(
                    sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)))
            # No CREATE on the database for the pipeline (taken back from a warehouse made before): every schema
            # is made by provisioning (its own `control` and `reference` below, tenants' by ensure_tenant_owner).
            conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(WAREHOUSE_DB), sql.Identifier(PIPELINE_ROLE)))
            conn.execute(sql.SQL("REVOKE CREATE ON DATABASE {} FROM {}").format(
                sql.Identifier(WAREHOUSE_DB), sql.Identifier(PIPELINE_ROLE)))
            # dbt's unit tests and incremental builds use session-private temporary tables.
            conn.execute(sql.SQL("GRANT TEMPORARY ON DATABASE {} TO {}").format(
                sql.Identifier(WAREHOUSE_DB), sql.Identifier(PIPELINE_ROLE)))
            # Compliance reads the audit trail; analysts read marts (schema grants come with each tenant's group);
            # OpenBao connects as the issuer to make and drop analyst logins.
            for role in (COMPLIANCE_ROLE, ALL_TENANTS_ANALYST_GROUP, ANALYST_LOGIN_ISSUER_ROLE):
                conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                    sql.Identifier(WAREHOUSE_DB), sql.Identifier(role)))
        self._drop_legacy_analyst_role()
        with self.connect(WAREHOUSE_DB) as conn:
            conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            # Serialised with the pipeline's own first-use DDL (same lock as warehouse/control.py uses).
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('retkee.audit.ddl'))")
                for statement in (*_AUDIT_SQL, *_PROVISIONING_SQL, *_ERASURE_RESIDUE_SQL, *_ANALYST_LOGIN_SQL,
                                  *quota_sql(SUPERUSER, WAREHOUSE_DB)):
                    conn.execute(statement)

    def _drop_legacy_analyst_role(self) -> None:
        """A warehouse made before per-tenant analyst groups had one `analyst` group reading every tenant's marts:
        its privileges (and its members' membership) go with it."""
        with self.connect() as conn:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [LEGACY_ANALYST_ROLE]).fetchone():
                return
        for database in (WAREHOUSE_DB, DAGSTER_DB, "postgres"):
            with self.connect(database) as conn:
                conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(LEGACY_ANALYST_ROLE)))
        with self.connect() as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(LEGACY_ANALYST_ROLE)))

    def set_role_password(self, role: str, password: str) -> None:
        # Sent as a literal (utility statements take no bind parameters); log_statement is off.
        with self.connect() as conn:
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))

    def active_tenants(self) -> list[str]:
        """Ids of the active tenants (for the analyst logins' Vault roles); none before the registry exists."""
        with self.connect(WAREHOUSE_DB) as conn:
            if conn.execute("SELECT to_regclass('control.tenants')").fetchone()[0] is None:
                return []
            return [row[0] for row in conn.execute(
                "SELECT tenant_id FROM control.tenants WHERE status = 'active' ORDER BY 1").fetchall()]

    def ensure_dagster_password(self) -> None:
        """Dagster's own storage credentials live in `.data/secrets/dagster-pg.json` (see settings.py)."""
        data = read_json(self.config.dagster_pg_file)
        if data is None:
            data = {"username": DAGSTER_ROLE, "password": random_password()}
            write_private_json(self.config.dagster_pg_file, data)
        self.set_role_password(DAGSTER_ROLE, data["password"])

    # --- internals ---
    @property
    def _log_file(self) -> Path:
        return self.config.log_dir / "postgres.log"

    def _prepare_dirs(self) -> None:
        for directory in (self.config.pg_dir, self.config.pg_socket_dir):
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(0o700)
            self.user.chown(directory)
        self.config.log_dir.mkdir(parents=True, exist_ok=True)
        # pg_ctl opens the log as the pg user: the file is created here and handed over.
        self._log_file.touch(mode=0o600, exist_ok=True)
        self.user.chown(self._log_file)

    def _run(self, argv: list[str], what: str) -> subprocess.CompletedProcess:
        result = subprocess.run(  # noqa: S603 - fixed argv
            argv, capture_output=True, text=True, check=False, cwd=self.config.pg_dir,
            start_new_session=True, env=self._env(), **self.user.run_kwargs(),
        )
        if result.returncode != 0:
            output = result.stderr.strip() or result.stdout.strip()
            raise StackError(f"{what} failed (exit {result.returncode}): {output}\nlog: {self._log_file}")
        return result

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update({"LC_ALL": "C", "LANG": "C"})
        if self.user.switch:
            env.update({"HOME": str(self.config.pg_dir), "USER": self.user.name, "LOGNAME": self.user.name})
        return env

    def _pg_ctl(self, *args: str) -> None:
        self._run([str(self.bindir / "pg_ctl"), args[0], "-D", str(self.config.pg_data_dir), *args[1:]],
                  f"pg_ctl {args[0]}")

    def _initdb(self) -> None:
        data_dir = self.config.pg_data_dir
        if data_dir.exists() and any(data_dir.iterdir()):
            raise StackError(f"{data_dir} exists but holds no cluster; remove it (or run `clean`) and retry.")
        password = random_password()
        pwfile = self.config.pg_dir / ".initdb-pw"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        self.user.chown(pwfile)
        try:
            self._run([
                str(self.bindir / "initdb"), "-D", str(data_dir), f"--username={SUPERUSER}",
                f"--pwfile={pwfile}", "--auth=scram-sha-256", "--encoding=UTF8", "--no-locale",
                "--data-checksums",
            ], "initdb")
        finally:
            pwfile.unlink(missing_ok=True)
        write_private_json(self.config.pg_superuser_file, {"username": SUPERUSER, "password": password})

    def _write_config(self) -> None:
        data_dir = self.config.pg_data_dir
        # Copies owned by the pg user: PostgreSQL insists its key is 0600 and owned by itself (or root).
        for source, target, mode in (
            (self.config.cert_file("postgres"), data_dir / "server.crt", 0o644),
            (self.config.key_file("postgres"), data_dir / "server.key", 0o600),
        ):
            shutil.copyfile(source, target)
            target.chmod(mode)
            self.user.chown(target)
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.config.pg_port),
            "unix_socket_directories": str(self.config.pg_socket_dir),
            "ssl": "on",
            "ssl_cert_file": str(data_dir / "server.crt"),
            "ssl_key_file": str(data_dir / "server.key"),
            "ssl_min_protocol_version": "TLSv1.2",
            "password_encryption": "scram-sha-256",
            "logging_collector": "off",
            "log_destination": "stderr",
            "log_connections": "on",
            "log_line_prefix": "%m [%p] %q%u@%d ",
            # Bounded WAL (docs/retention.md, "What is left on disk"): a segment no checkpoint needs is deleted,
            # not renamed for reuse with an erased tenant's bytes still in it; nothing is kept for standbys and
            # nothing is archived, so an erasure's checkpoint leaves no older WAL behind.
            "wal_recycle": "off",
            "wal_keep_size": "0",
            "max_wal_size": "1GB",
            "min_wal_size": "80MB",
            "archive_mode": "off",
        }
        lines = ["# Written by local_stack (postgres.py) on every start; edit StackConfig, not this file."]
        for key, value in settings.items():
            bare = value.isdigit() or value in ("on", "off")
            lines.append(f"{key} = {value}" if bare else f"{key} = '{value.replace(chr(39), chr(39) * 2)}'")
        retkee_conf = data_dir / "retkee.conf"
        retkee_conf.write_text("\n".join(lines) + "\n")
        retkee_conf.chmod(0o600)
        self.user.chown(retkee_conf)
        (data_dir / "pg_hba.conf").write_text(_HBA)
        self.user.chown(data_dir / "pg_hba.conf")
        main_conf = data_dir / "postgresql.conf"
        include = "include = 'retkee.conf'"
        if include not in main_conf.read_text():
            with open(main_conf, "a") as handle:
                handle.write(f"\n# Project settings (TLS, port, sockets): see retkee.conf\n{include}\n")

    def _wait_until_accepting(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with self.connect() as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as error:
                last_error = error
                time.sleep(0.2)
        raise StackError(f"PostgreSQL did not accept TLS connections on port {self.config.pg_port}: "
                         f"{last_error}\nlog: {self._log_file}")
