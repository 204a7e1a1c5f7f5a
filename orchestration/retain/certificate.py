"""Erasure certificates: the audit record that a tenant was erased, what was destroyed and how it was checked.

Three tables in the `audit` schema, all keyed by the pseudonymous tenant id and holding no seller data:

- `audit.erasure_requests`: a seller asked for deletion (erased without grace period);
- `audit.erasure_progress`: an erasure under way: what was found before anything was destroyed (so that a
  re-run after a crash still certifies the original counts), the canary ciphertext, every attempt's run id;
- `audit.erasure_certificates`: one row per erased tenant, written in the same transaction that marks the
  tenant `erased`, so a tenant is never erased without its certificate nor certified twice.

The DDL is plain strings so that provisioning can create these tables ahead of the pipeline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row

AUDIT_SCHEMA = "audit"

ERASURE_DDL = [
    "create schema if not exists audit",
    """
    create table if not exists audit.erasure_requests (
        tenant_id     text primary key check (tenant_id ~ '^t[0-9a-f]{12}$'),
        requested_at  timestamptz not null default now(),
        requested_by  text not null  -- 'seller' or 'operator'; never a person's name
    )
    """,
    """
    create table if not exists audit.erasure_progress (
        tenant_id     text primary key check (tenant_id ~ '^t[0-9a-f]{12}$'),
        requested_at  timestamptz,
        started_at    timestamptz not null default now(),
        inventory     jsonb not null,   -- what existed before the first destructive step
        canary        text,            -- a transit ciphertext of random bytes under the tenant key
        run_ids       text[] not null default '{}',
        updated_at    timestamptz not null default now()
    )
    """,
    """
    create table if not exists audit.erasure_certificates (
        tenant_id      text primary key check (tenant_id ~ '^t[0-9a-f]{12}$'),
        trigger        text not null,    -- revoked | terminated | seller request
        requested_at   timestamptz,
        started_at     timestamptz not null,
        finished_at    timestamptz not null,
        run_id         text not null,    -- the run that completed the erasure
        attempt_run_ids text[] not null, -- every run that worked on it (more than one after a crash)
        destroyed      jsonb not null,   -- counts, schema names, key name and versions, secret versions
        verification   jsonb not null,   -- each check and its result
        verified       boolean not null,
        step_seconds   jsonb not null    -- duration of each step of the completing run
    )
    """,
]


def ensure_audit_tables(conn: psycopg.Connection) -> None:
    with conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext('retkee.audit.erasure.ddl'))")
        for statement in ERASURE_DDL:
            cur.execute(statement)


@dataclass(frozen=True)
class ErasureCertificate:
    tenant_id: str
    trigger: str
    requested_at: datetime | None
    started_at: datetime
    finished_at: datetime
    run_id: str
    attempt_run_ids: list[str]
    destroyed: dict
    verification: dict
    verified: bool
    step_seconds: dict

    def summary(self) -> dict:
        return {**self.__dict__, "requested_at": _iso(self.requested_at), "started_at": _iso(self.started_at),
                "finished_at": _iso(self.finished_at)}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def read_certificate(conn: psycopg.Connection, tenant_id: str) -> ErasureCertificate | None:
    with conn.cursor(row_factory=class_row(ErasureCertificate)) as cur:
        cur.execute("select * from audit.erasure_certificates where tenant_id = %s", (tenant_id,))
        return cur.fetchone()


def list_certificates(conn: psycopg.Connection) -> list[ErasureCertificate]:
    ensure_audit_tables(conn)
    conn.commit()
    with conn.cursor(row_factory=class_row(ErasureCertificate)) as cur:
        cur.execute("select * from audit.erasure_certificates order by finished_at, tenant_id")
        return cur.fetchall()


def insert_certificate(cur: psycopg.Cursor, certificate: ErasureCertificate) -> None:
    """Insert inside the caller's transaction (the one that marks the tenant erased)."""
    cur.execute(
        "insert into audit.erasure_certificates (tenant_id, trigger, requested_at, started_at, finished_at,"
        " run_id, attempt_run_ids, destroyed, verification, verified, step_seconds)"
        " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            certificate.tenant_id, certificate.trigger, certificate.requested_at, certificate.started_at,
            certificate.finished_at, certificate.run_id, certificate.attempt_run_ids,
            json.dumps(certificate.destroyed), json.dumps(certificate.verification), certificate.verified,
            json.dumps(certificate.step_seconds),
        ),
    )


def record_request(conn: psycopg.Connection, tenant_id: str, requested_by: str) -> None:
    """A data-subject erasure request: the sensor erases this tenant without a grace period."""
    if requested_by not in ("seller", "operator"):
        raise ValueError("requested_by is 'seller' or 'operator'")
    ensure_audit_tables(conn)
    conn.execute(
        "insert into audit.erasure_requests (tenant_id, requested_by) values (%s, %s)"
        " on conflict (tenant_id) do nothing",
        (tenant_id, requested_by),
    )
    conn.commit()


def requested_tenants(conn: psycopg.Connection) -> set[str]:
    ensure_audit_tables(conn)
    conn.commit()
    with conn.cursor() as cur:
        cur.execute("select tenant_id from audit.erasure_requests")
        return {row[0] for row in cur.fetchall()}
