"""Cryptographic erasure of one tenant: every step idempotent, so a run killed anywhere is finished by the next.

The steps, in order (docs/retention.md explains each):

    take_inventory -> stop_runs -> drop_schemas -> scrub_shared_rows -> destroy_key -> delete_landing
    -> destroy_secret -> revoke_analyst_logins -> drop_roles -> remove_partitions -> clear_disk_residue -> verify
    -> certify

The inventory is taken once, before anything is destroyed, and kept in `audit.erasure_progress`; a re-run
after a crash reuses it, so the certificate counts what existed, not what the last attempt still found.
The certificate is written in the same transaction that marks the tenant `erased`: one tenant, one
certificate. Nothing here reads the seller id, so nothing here can leak it into Dagster.

Dagster-free: runs and partitions are reached through `RunControl`, which defs/retention.py implements
on the Dagster instance; benchmarks use `NoRunControl`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import psycopg
from psycopg import sql

from orchestration.errors import RetkeeError
from orchestration.land.landing_zone import LandingZone
from orchestration.retain.certificate import (
    ErasureCertificate,
    ensure_audit_tables,
    insert_certificate,
    read_certificate,
    record_attempt,
    request_id_of,
    requested_tenants,
    signed,
    start_erasure,
)
from orchestration.retain.key_release import release_tenant_key
from orchestration.secrets.vault import Vault, tenant_key_name, tenant_secret_path
from orchestration.serve.analyst_logins import revoke_tenant_logins, tenant_role_exists, vault_role
from orchestration.warehouse.control import ensure_control_schema
from orchestration.warehouse.grants import tenant_analyst_group, tenant_owner_role
from orchestration.warehouse.schemas import check_tenant_id

STEPS = (
    "take_inventory", "stop_runs", "drop_schemas", "scrub_shared_rows", "destroy_key", "delete_landing",
    "destroy_secret", "revoke_analyst_logins", "drop_roles", "remove_partitions", "clear_disk_residue", "verify",
    "certify",
)
# Schemas whose tables are not "shared tables of tenant data": catalogs, the registry (scrubbed, not
# deleted: the pseudonymous row stays as the erasure's anchor) and the audit trail itself.
_NOT_SHARED = ("pg_catalog", "information_schema", "pg_toast", "control", "audit")
# Lifecycle reasons our own code writes; any other (free text from an operator) is redacted at erasure.
KNOWN_REASONS = frozenset({
    "onboarded", "revoked by operator", "subscription ended", "seller asked for deletion",
    "erased; certificate in audit.erasure_certificates",
})
REDACTED_REASON = "redacted at erasure"


class ErasureError(RetkeeError, RuntimeError):
    """An erasure attempt that could not finish; the next attempt continues where it stopped."""


class ErasureRefused(ErasureError):
    """Erasure of a tenant that must not be erased (active, unknown)."""


class RunControl(Protocol):
    """What erasure needs from the orchestrator: the tenant's runs and its partitions."""

    def in_flight_runs(self, tenant_id: str) -> list[str]: ...
    def cancel_run(self, run_id: str) -> None: ...
    def has_tenant_partition(self, tenant_id: str) -> bool: ...
    def remove_tenant_partition(self, tenant_id: str) -> None: ...


class NoRunControl:
    """No orchestrator: no runs to stop, no partitions to remove (benchmarks, scripts)."""

    def in_flight_runs(self, tenant_id: str) -> list[str]:
        return []

    def cancel_run(self, run_id: str) -> None:
        return None

    def has_tenant_partition(self, tenant_id: str) -> bool:
        return False

    def remove_tenant_partition(self, tenant_id: str) -> None:
        return None


@dataclass
class ErasureTools:
    conn: psycopg.Connection  # the pipeline role: a member of every `<tenant>_owner`, so it may drop their schemas
    pipeline_vault: Vault  # makes the canary (encrypt under the tenant key)
    erasure_vault: Vault  # destroys the key and the secret; checks the canary
    key_release_vault: Vault  # makes the key deletable, once the tenant's state allows it
    landing: LandingZone
    runs: RunControl
    run_id: str
    wait_for_runs_seconds: float = 300.0
    poll_seconds: float = 1.0
    log: Callable[[str], None] = lambda message: None
    on_step_done: Callable[[str], None] | None = None  # tests use it to kill an attempt between steps
    step_seconds: dict[str, float] = field(default_factory=dict)


def tenant_prefix(tenant_id: str) -> str:
    return f"{check_tenant_id(tenant_id)}_"


# --- what the tenant has, in the warehouse, the landing zone, Vault and Dagster ---------------------------
def tenant_schemas_present(conn: psycopg.Connection, tenant_id: str) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("select nspname from pg_namespace where starts_with(nspname, %s) order by 1",
                    (tenant_prefix(tenant_id),))
        return [row[0] for row in cur.fetchall()]


def tenant_relations(conn: psycopg.Connection, tenant_id: str) -> list[tuple[str, str, str, int]]:
    """(schema, relation, kind, estimated rows) of every table and view in the tenant's schemas.

    Estimated rows come from the planner statistics: counting would make erasure as slow as the data is big.
    """
    with conn.cursor() as cur:
        cur.execute(
            "select n.nspname, c.relname, c.relkind::text, greatest(c.reltuples, 0)::bigint"
            " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where starts_with(n.nspname, %s) and c.relkind in ('r', 'p', 'v', 'm', 'f') order by 1, 2",
            (tenant_prefix(tenant_id),),
        )
        return [tuple(row) for row in cur.fetchall()]


def shared_tables(conn: psycopg.Connection, tenant_id: str) -> list[tuple[str, str]]:
    """Tables outside any tenant schema that carry a `tenant_id` column: rows of ours may sit there."""
    with conn.cursor() as cur:
        cur.execute(
            "select c.table_schema, c.table_name from information_schema.columns c"
            " join information_schema.tables t using (table_schema, table_name)"
            " where c.column_name = 'tenant_id' and t.table_type = 'BASE TABLE'"
            " and c.table_schema <> all(%s) and c.table_schema !~ '^t[0-9a-f]{12}_' order by 1, 2",
            (list(_NOT_SHARED),),
        )
        return [tuple(row) for row in cur.fetchall()]


def _shared_row_counts(conn: psycopg.Connection, tenant_id: str) -> dict[str, int]:
    counts = {}
    with conn.cursor() as cur:
        for schema, table in shared_tables(conn, tenant_id):
            cur.execute(
                sql.SQL("select count(*) from {}.{} where tenant_id = %s").format(
                    sql.Identifier(schema), sql.Identifier(table)),
                (tenant_id,),
            )
            counts[f"{schema}.{table}"] = cur.fetchone()[0]
    return counts


def tenant_roles(conn: psycopg.Connection, tenant_id: str) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("select rolname from pg_roles where rolname = %s or starts_with(rolname, %s) order by 1",
                    (tenant_id, tenant_prefix(tenant_id)))
        return [row[0] for row in cur.fetchall()]


def _analyst_logins(conn: psycopg.Connection, tenant_id: str) -> list[str]:
    group = tenant_analyst_group(tenant_id)
    with conn.cursor() as cur:
        cur.execute("select rolname from pg_roles where starts_with(rolname, %s) order by 1", (f"{group}_",))
        return [row[0] for row in cur.fetchall()]


def _take_inventory(tools: ErasureTools, tenant_id: str) -> tuple[dict, str | None]:
    conn = tools.conn
    relations = tenant_relations(conn, tenant_id)
    with conn.cursor() as cur:
        cur.execute("select count(*) from control.tenant_status_history where tenant_id = %s", (tenant_id,))
        history_rows = cur.fetchone()[0]
    key = tools.erasure_vault.tenant_key_versions(tenant_id)
    canary = None
    canary_decrypted = None
    if key is not None:
        # Random bytes, not data: proof after the fact that the key really is gone.
        canary = tools.pipeline_vault.encrypt_for_tenant(tenant_id, os.urandom(32))
        canary_decrypted = tools.erasure_vault.decrypts(tenant_id, canary)
    inventory = {
        "schemas": tenant_schemas_present(conn, tenant_id),
        "tables": sum(1 for r in relations if r[2] in ("r", "p", "f")),
        "views": sum(1 for r in relations if r[2] in ("v", "m")),
        "rows_estimate": sum(r[3] for r in relations if r[2] in ("r", "p", "m")),
        "shared_rows": _shared_row_counts(conn, tenant_id),
        "registry": {"control.tenants": 1, "control.tenant_status_history": history_rows},
        "landing_objects": len(tools.landing.list(tenant_id)),
        # Deleting the key destroys every version, also those below min_decryption_version that Vault no
        # longer lists: versions 1..latest.
        "transit_key": {
            "name": tenant_key_name(tenant_id),
            "versions": list(range(1, key["latest_version"] + 1)) if key else [],
            "latest_version": key["latest_version"] if key else None,
            "min_decryption_version": key["min_decryption_version"] if key else None,
        },
        "kv_secret": {"path": tenant_secret_path(tenant_id),
                      "versions": tools.erasure_vault.secret_versions(tenant_secret_path(tenant_id)) or []},
        "db_roles": tenant_roles(conn, tenant_id),
        # Analysts' logins of the tenant live at inventory time (members of its group; each is in db_roles too).
        "analyst_logins": {"vault_role": vault_role(tenant_id),
                           "live_logins": len(_analyst_logins(conn, tenant_id))},
        "dagster_partitions": [tenant_id] if tools.runs.has_tenant_partition(tenant_id) else [],
        "canary_decrypted_before": canary_decrypted,
    }
    return inventory, canary


def _progress(tools: ErasureTools, tenant_id: str, requested_at: datetime | None) -> tuple[dict, str | None, datetime,
                                                                                          list[str]]:
    """The inventory of the first attempt (taken now if there is none); records this run as an attempt."""
    conn = tools.conn
    with conn.cursor() as cur:
        cur.execute("select inventory, canary from audit.erasure_progress where tenant_id = %s", (tenant_id,))
        row = cur.fetchone()
    conn.commit()
    if row is None:
        inventory, canary = _take_inventory(tools, tenant_id)
        start_erasure(conn, tenant_id, requested_at, inventory, canary)
    # The audit tables are the administrator's: the pipeline appends through audit.* functions only.
    inventory, canary, started_at, run_ids = record_attempt(conn, tenant_id, tools.run_id)
    conn.commit()
    return inventory, canary, started_at, list(run_ids)


# --- the destructive steps ------------------------------------------------------------------------------------
def _stop_runs(tools: ErasureTools, tenant_id: str) -> list[str]:
    """Cancel the tenant's queued and running runs and wait until none is left: nothing writes after erasure."""
    seen: list[str] = []
    deadline = time.monotonic() + tools.wait_for_runs_seconds
    while True:
        running = [r for r in tools.runs.in_flight_runs(tenant_id) if r != tools.run_id]
        if not running:
            return seen
        for run_id in running:
            if run_id not in seen:
                tools.log(f"cancelling run {run_id} of tenant {tenant_id}")
                tools.runs.cancel_run(run_id)
                seen.append(run_id)
        if time.monotonic() > deadline:
            raise ErasureError(
                f"runs {', '.join(running)} of tenant {tenant_id} are still in flight after "
                f"{tools.wait_for_runs_seconds:.0f}s; nothing was destroyed yet beyond this point, retry later"
            )
        time.sleep(tools.poll_seconds)


def _drop_schemas(tools: ErasureTools, tenant_id: str) -> None:
    conn = tools.conn
    with conn.transaction(), conn.cursor() as cur:
        # A lock held by a stray session makes this attempt fail (and be retried), never hang forever.
        cur.execute("set local lock_timeout = '60s'")
        for schema in tenant_schemas_present(conn, tenant_id):
            cur.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))


def _scrub_shared_rows(tools: ErasureTools, tenant_id: str) -> None:
    """Delete the tenant's rows from shared tables; keep the registry row but strip it of the seller."""
    conn = tools.conn
    with conn.transaction(), conn.cursor() as cur:
        for schema, table in shared_tables(conn, tenant_id):
            cur.execute(
                sql.SQL("delete from {}.{} where tenant_id = %s").format(sql.Identifier(schema), sql.Identifier(table)),
                (tenant_id,),
            )
        cur.execute(
            "update control.tenants set seller_id = null,"
            " status_reason = case when status_reason = any(%s) then status_reason else %s end"
            " where tenant_id = %s",
            (list(KNOWN_REASONS), REDACTED_REASON, tenant_id),
        )
        cur.execute(
            "update control.tenant_status_history set reason = %s"
            " where tenant_id = %s and reason is not null and reason <> all(%s)",
            (REDACTED_REASON, tenant_id, list(KNOWN_REASONS)),
        )
    # An UPDATE leaves the old row version (with the seller id) in the table file until it is rewritten.
    # Both tables are small; VACUUM FULL rewrites them at once instead of waiting for the page to be reused.
    conn.execute("vacuum (full) control.tenants, control.tenant_status_history")


def _destroy_key(tools: ErasureTools, tenant_id: str) -> None:
    # The erasure duty cannot make a key deletable (Vault's guard); the key-release duty does, after its own
    # check of the tenant's state (retain/key_release.py).
    release_tenant_key(tools.conn, tools.key_release_vault, tenant_id)
    tools.erasure_vault.destroy_tenant_key(tenant_id)


def _delete_landing(tools: ErasureTools, tenant_id: str) -> None:
    tools.landing.delete_tenant(tenant_id)


def _destroy_secret(tools: ErasureTools, tenant_id: str) -> None:
    if tools.erasure_vault.secret_versions(tenant_secret_path(tenant_id)) is not None:
        tools.erasure_vault.destroy(tenant_secret_path(tenant_id))


def _revoke_analyst_logins(tools: ErasureTools, tenant_id: str) -> dict:
    """Revoke the leases of the tenant's analyst logins in OpenBao (it ends their sessions and drops each login)
    and delete the tenant's analyst Vault role, so no login is issued again (orchestration/serve/analyst_logins.py).
    The group itself goes with the owner role (drop_roles)."""
    return revoke_tenant_logins(tools.erasure_vault, tenant_id)


def _drop_roles(tools: ErasureTools, tenant_id: str) -> None:
    """Drop the tenant's `<tenant>_owner` role and its analyst group `<tenant>_analyst` through the administrator's
    `provisioning.drop_tenant_owner`: DROP ROLE needs CREATEROLE, which the pipeline does not have. The function
    drops what the roles still own and their privileges (the database's included) first, and any analyst login
    OpenBao could not drop; the schemas are already gone (drop_schemas).
    Any other role named after the tenant is not ours to drop and is left for verification to report."""
    conn = tools.conn
    if {tenant_owner_role(tenant_id), tenant_analyst_group(tenant_id)} & set(tenant_roles(conn, tenant_id)):
        with conn.transaction():
            conn.execute("select provisioning.drop_tenant_owner(%s)", (tenant_id,))


def _remove_partitions(tools: ErasureTools, tenant_id: str) -> None:
    if tools.runs.has_tenant_partition(tenant_id):
        tools.runs.remove_tenant_partition(tenant_id)


def _clear_disk_residue(tools: ErasureTools, tenant_id: str) -> dict:
    """Leave nothing of the tenant readable in the data directory's files, WAL included (docs/retention.md,
    "What is left on disk"). A dropped table's file is emptied at commit and unlinked at the next checkpoint,
    but two things outlive the drop: the dead rows of pg_statistic (most common values and histograms of the
    tenant's columns, and the old statistics of the scrubbed registry) until that catalog is rewritten, and the
    WAL, which holds every row the tenant ever wrote until its segment is removed.

    So: the shared tables the tenant's rows were deleted from rewritten (their dead rows gone) with fresh
    statistics, a rewrite of pg_statistic (the administrator's provisioning.rewrite_statistics), a WAL switch,
    then a checkpoint, which removes every segment before its redo point (wal_recycle=off: removed, not
    reused). Re-runnable; the LSNs go into the certificate."""
    conn = tools.conn
    tables = sorted({("control", "tenants"), ("control", "tenant_status_history"), *shared_tables(conn, tenant_id)})
    conn.execute(sql.SQL("vacuum (full, analyze) {}").format(
        sql.SQL(", ").join(sql.Identifier(schema, table) for schema, table in tables)))
    with conn.cursor() as cur:
        cur.execute("select pg_relation_filenode('pg_catalog.pg_statistic')")
        statistics_file_before = cur.fetchone()[0]
        cur.execute("select provisioning.rewrite_statistics()")
        cur.execute("select pg_relation_filenode('pg_catalog.pg_statistic')")
        statistics_file_after = cur.fetchone()[0]
        cur.execute("select pg_switch_wal()::text")
        wal_switched_at = cur.fetchone()[0]
        cur.execute("checkpoint")
        cur.execute("select pg_current_wal_lsn()::text")
        wal_after_checkpoint = cur.fetchone()[0]
    return {
        "statistics_analyzed": [f"{schema}.{table}" for schema, table in tables],
        "statistics_rewritten": statistics_file_after != statistics_file_before,
        "wal_switched_at": wal_switched_at,
        "wal_after_checkpoint": wal_after_checkpoint,
    }


def verify_erased(tools: ErasureTools, tenant_id: str, canary: str | None) -> dict:
    """Look again everywhere the tenant could be; every answer must be "nothing left"."""
    conn = tools.conn
    with conn.cursor() as cur:
        cur.execute("select seller_id is not null from control.tenants where tenant_id = %s", (tenant_id,))
        row = cur.fetchone()
    conn.commit()
    canary_decrypts = tools.erasure_vault.decrypts(tenant_id, canary) if canary else None
    checks = {
        "schemas_left": len(tenant_schemas_present(conn, tenant_id)),
        "relations_left": len(tenant_relations(conn, tenant_id)),
        "shared_rows_left": sum(_shared_row_counts(conn, tenant_id).values()),
        "registry_holds_seller_id": bool(row and row[0]),
        "db_roles_left": len(tenant_roles(conn, tenant_id)),
        "analyst_vault_role_exists": tenant_role_exists(tools.erasure_vault, tenant_id),
        "landing_objects_left": len(tools.landing.list(tenant_id)),
        "transit_key_exists": tools.erasure_vault.tenant_key_versions(tenant_id) is not None,
        "kv_secret_exists": tools.erasure_vault.secret_versions(tenant_secret_path(tenant_id)) is not None,
        "canary_decrypts": canary_decrypts,
        "dagster_partition_exists": tools.runs.has_tenant_partition(tenant_id),
        "in_flight_runs": len([r for r in tools.runs.in_flight_runs(tenant_id) if r != tools.run_id]),
    }
    conn.commit()
    checks["passed"] = (
        checks["schemas_left"] == checks["relations_left"] == checks["shared_rows_left"] == 0
        and checks["db_roles_left"] == checks["landing_objects_left"] == checks["in_flight_runs"] == 0
        and not checks["registry_holds_seller_id"]
        and not checks["transit_key_exists"]
        and not checks["kv_secret_exists"]
        and not checks["analyst_vault_role_exists"]
        and not checks["dagster_partition_exists"]
        and checks["canary_decrypts"] is not True
    )
    return checks


def _certify(tools: ErasureTools, certificate: ErasureCertificate) -> None:
    conn = tools.conn
    # Signed before the transaction (a Vault call holds no lock); issuing it also closes its progress row.
    certificate = signed(certificate, tools.erasure_vault)
    with conn.transaction(), conn.cursor() as cur:
        insert_certificate(cur, certificate)
        cur.execute(
            "update control.tenants set status = 'erased', status_reason = %s, status_changed_at = now()"
            " where tenant_id = %s",
            ("erased; certificate in audit.erasure_certificates", certificate.tenant_id),
        )
        cur.execute(
            "insert into control.tenant_status_history (tenant_id, status, reason) values (%s, 'erased', %s)",
            (certificate.tenant_id, "erased; certificate in audit.erasure_certificates"),
        )


DESTRUCTIVE_STEPS: tuple[tuple[str, Callable[[ErasureTools, str], object]], ...] = (
    ("drop_schemas", _drop_schemas),
    ("scrub_shared_rows", _scrub_shared_rows),
    ("destroy_key", _destroy_key),
    ("delete_landing", _delete_landing),
    ("destroy_secret", _destroy_secret),
    ("revoke_analyst_logins", _revoke_analyst_logins),
    ("drop_roles", _drop_roles),
    ("remove_partitions", _remove_partitions),
    ("clear_disk_residue", _clear_disk_residue),
)


def erase_tenant(tools: ErasureTools, tenant_id: str) -> ErasureCertificate:
    """Erase a revoked or terminated tenant and return its certificate (the existing one if already erased).

    Safe to call again after any failure or kill: every step finds its own work done and moves on.
    """
    check_tenant_id(tenant_id)
    conn = tools.conn
    ensure_control_schema(conn)
    ensure_audit_tables(conn)
    conn.commit()
    # Autocommit: each step's `with conn.transaction()` is then a real transaction (never a savepoint of
    # an implicit one), reads hold no locks between steps, and VACUUM can run.
    saved_autocommit = conn.autocommit
    conn.autocommit = True
    try:
        return _erase(tools, tenant_id)
    finally:
        conn.autocommit = saved_autocommit


def _erase(tools: ErasureTools, tenant_id: str) -> ErasureCertificate:
    conn = tools.conn
    existing = read_certificate(conn, tenant_id)
    if existing is not None:
        tools.log(f"tenant {tenant_id} was already erased by run {existing.run_id}")
        return existing
    with conn.cursor() as cur:
        cur.execute("select status, erasure_requested_at from control.tenants where tenant_id = %s", (tenant_id,))
        row = cur.fetchone()
    conn.commit()
    if row is None:
        raise ErasureRefused(f"no tenant {tenant_id}")
    status, requested_at = row
    if status == "active":
        raise ErasureRefused(f"tenant {tenant_id} is active; revoke or terminate it first (erasure is final)")
    trigger = "seller request" if tenant_id in requested_tenants(conn) else status
    if status == "erased":
        trigger = "erased"  # marked erased by hand without a certificate: erase again, and certify

    def timed(step: str, fn: Callable[[], object]):
        began = time.perf_counter()
        result = fn()
        tools.step_seconds[step] = round(time.perf_counter() - began, 4)
        tools.log(f"erasure of {tenant_id}: {step} done in {tools.step_seconds[step]:.3f}s")
        if tools.on_step_done is not None:
            tools.on_step_done(step)
        return result

    inventory, canary, started_at, run_ids = timed(
        "take_inventory", lambda: _progress(tools, tenant_id, requested_at))
    cancelled = timed("stop_runs", lambda: _stop_runs(tools, tenant_id))
    done = {step: timed(step, lambda fn=fn: fn(tools, tenant_id)) for step, fn in DESTRUCTIVE_STEPS}
    verification = timed("verify", lambda: verify_erased(tools, tenant_id, canary))
    residue = done.get("clear_disk_residue") or {}
    # Verified before certifying, like every other step: the catalog was rewritten after the drop.
    verification["statistics_rewritten"] = residue.get("statistics_rewritten") is True
    verification["passed"] = verification["passed"] and verification["statistics_rewritten"]
    verification["canary_decrypted_before"] = inventory.get("canary_decrypted_before")
    if not verification["passed"]:
        failed = sorted(k for k, v in verification.items()
                        if k not in ("passed", "canary_decrypted_before", "statistics_rewritten")
                        and v not in (0, False, None))
        failed += [] if verification["statistics_rewritten"] else ["statistics_not_rewritten"]
        raise ErasureError(f"erasure of tenant {tenant_id} is not complete: {', '.join(failed)}")
    destroyed = {k: v for k, v in inventory.items() if k != "canary_decrypted_before"}
    destroyed["runs_cancelled"] = cancelled
    destroyed["disk_residue"] = residue
    destroyed["analyst_logins"] = {**inventory.get("analyst_logins", {}), **(done.get("revoke_analyst_logins") or {})}
    certificate = ErasureCertificate(
        tenant_id=tenant_id,
        trigger=trigger,
        requested_at=requested_at,
        started_at=started_at,
        finished_at=datetime.now(UTC),
        run_id=tools.run_id,
        attempt_run_ids=run_ids,
        destroyed=destroyed,
        verification=verification,
        verified=True,
        step_seconds=dict(tools.step_seconds),
        request_id=request_id_of(conn, tenant_id),  # signed with the rest; the database copies the same one
    )
    timed("certify", lambda: _certify(tools, certificate))
    return read_certificate(conn, tenant_id)
