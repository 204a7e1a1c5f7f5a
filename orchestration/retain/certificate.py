"""Erasure certificates: the audit record that a tenant was erased, what was destroyed and how it was checked.

Three tables in the `audit` schema, all keyed by the pseudonymous tenant id and holding no seller data:

- `audit.erasure_requests`: a seller asked for deletion (erased without grace period);
- `audit.erasure_progress`: an erasure under way: what was found before anything was destroyed (so that a
  re-run after a crash still certifies the original counts), the canary ciphertext, every attempt's run id;
- `audit.erasure_certificates`: one row per erased tenant, written in the same transaction that marks the
  tenant `erased`, so a tenant is never erased without its certificate nor certified twice.

The tables and the functions that write them belong to the database administrator (provisioning,
the local stack's `up`, runs this DDL): the pipeline reads them and writes them only through these
SECURITY DEFINER functions, each one exact transition (record a request, start an erasure, record an attempt,
issue the certificate), so it can never change or remove what is recorded. Each certificate carries an Ed25519
signature from Vault (`signed_record` is the canonical JSON that was signed), so an edit made even by someone who
bypasses the database's privileges is detected (`retkee erasure verify`, `check_certificate`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Protocol

import psycopg
from psycopg.rows import class_row

from orchestration.errors import RetkeeError

AUDIT_SCHEMA = "audit"
ERASURE_TABLES = ("erasure_requests", "erasure_progress", "erasure_certificates")

# The data subject's own reference for a deletion request (a ticket number, the DPO's case id): a reference, never
# a person's name or e-mail, so no space and no `@`; bounded, so a typo cannot fill the audit table. The database
# checks the same pattern (ERASURE_DDL), so no writer can bypass it.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/#-]{0,63}")

# Administrator's DDL (provisioning). `create ... if not exists` and `add column if not exists`, so a warehouse
# whose tables the pipeline created before (it owned them then) is migrated in place; ownership is handed to
# the administrator by provisioning.
ERASURE_DDL = [
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
    # The signature (Vault transit, key `erasure-certificates`) and the exact text it signs.
    "alter table audit.erasure_certificates add column if not exists signed_record text",
    "alter table audit.erasure_certificates add column if not exists signature text",
    # Every certificate issued from now on is signed; certificates of an older warehouse stay as they were (NOT
    # VALID: existing rows are not checked) and `retkee erasure verify` reports them as unsigned.
    """
    do $do$ begin
        if not exists (select 1 from pg_constraint where conname = 'erasure_certificates_signed'
                       and conrelid = 'audit.erasure_certificates'::regclass) then
            alter table audit.erasure_certificates add constraint erasure_certificates_signed
                check (signature is not null and signed_record is not null) not valid;
        end if;
    end $do$
    """,
    # The data subject's request id (`retkee tenants erase T --request-id ID`), kept with the request and copied
    # into the certificate; null for an erasure that revocation or termination started.
    "alter table audit.erasure_requests add column if not exists request_id text",
    "alter table audit.erasure_certificates add column if not exists request_id text",
    f"""
    do $do$ begin
        if not exists (select 1 from pg_constraint where conname = 'erasure_requests_request_id'
                       and conrelid = 'audit.erasure_requests'::regclass) then
            alter table audit.erasure_requests add constraint erasure_requests_request_id
                check (request_id ~ '^{REQUEST_ID_PATTERN.pattern}$');
        end if;
    end $do$
    """,  # noqa: S608 - a module constant only
    # --- the pipeline's only ways to write (EXECUTE granted by provisioning) ---
    # (The two-argument form of an older warehouse goes: one way to record a request.)
    "drop function if exists audit.record_erasure_request(text, text)",
    """
    create or replace function audit.record_erasure_request(for_tenant text, asked_by text, subject_request_id text)
    returns table (request_id text, requested_at timestamptz)
    language plpgsql security definer set search_path = pg_catalog, pg_temp as $fn$
    begin
        if asked_by is null or asked_by not in ('seller', 'operator') then
            raise exception 'requested_by is seller or operator, not %', asked_by
                using errcode = 'invalid_parameter_value';
        end if;
        insert into audit.erasure_requests (tenant_id, requested_by, request_id)
            values (for_tenant, asked_by, subject_request_id)
            on conflict (tenant_id) do nothing;
        -- What is recorded: the first request's, when the tenant's erasure had been asked for already.
        return query select r.request_id, r.requested_at from audit.erasure_requests r where r.tenant_id = for_tenant;
    end
    $fn$
    """,
    # The inventory is written once: a second start of the same erasure keeps the first one's.
    """
    create or replace function audit.start_erasure(for_tenant text, asked_at timestamptz, found jsonb,
                                                   canary_ciphertext text) returns void
    language sql security definer set search_path = pg_catalog, pg_temp as $fn$
        insert into audit.erasure_progress (tenant_id, requested_at, inventory, canary)
        values (for_tenant, asked_at, found, canary_ciphertext) on conflict (tenant_id) do nothing
    $fn$
    """,
    # The one update progress rows see: a run id appended (nothing else of the row changes).
    """
    create or replace function audit.record_erasure_attempt(for_tenant text, attempt_run_id text)
    returns table (inventory jsonb, canary text, started_at timestamptz, run_ids text[])
    language sql security definer set search_path = pg_catalog, pg_temp as $fn$
        update audit.erasure_progress p set run_ids = array_append(p.run_ids, attempt_run_id), updated_at = now()
        where p.tenant_id = for_tenant
        returning p.inventory, p.canary, p.started_at, p.run_ids
    $fn$
    """,
    # Issuing the certificate closes the erasure: its progress row goes in the same statement sequence, and only
    # then (a primary key refuses a second certificate, so progress can be removed once per tenant).
    """
    create or replace function audit.issue_erasure_certificate(
        for_tenant text, erasure_trigger text, asked_at timestamptz, began_at timestamptz, ended_at timestamptz,
        completing_run_id text, attempts text[], destroyed_inventory jsonb, checks jsonb, passed boolean,
        durations jsonb, record_signed text, record_signature text) returns void
    language sql security definer set search_path = pg_catalog, pg_temp as $fn$
        insert into audit.erasure_certificates (tenant_id, trigger, requested_at, started_at, finished_at, run_id,
            attempt_run_ids, destroyed, verification, verified, step_seconds, signed_record, signature, request_id)
        values (for_tenant, erasure_trigger, asked_at, began_at, ended_at, completing_run_id, attempts,
                destroyed_inventory, checks, passed, durations, record_signed, record_signature,
                -- the request id comes from the recorded request, never from the caller
                (select r.request_id from audit.erasure_requests r where r.tenant_id = for_tenant));
        delete from audit.erasure_progress p where p.tenant_id = for_tenant;
    $fn$
    """,
]

# (function signature, what it is for): provisioning grants EXECUTE on each to the pipeline, and nothing else.
ERASURE_FUNCTIONS = (
    "audit.record_erasure_request(text, text, text)",
    "audit.start_erasure(text, timestamptz, jsonb, text)",
    "audit.record_erasure_attempt(text, text)",
    "audit.issue_erasure_certificate(text, text, timestamptz, timestamptz, timestamptz, text, text[], jsonb, jsonb,"
    " boolean, jsonb, text, text)",
)


class AuditNotProvisioned(RetkeeError, RuntimeError):
    """The audit tables are made by the administrator; this warehouse has not been provisioned with them."""


def ensure_audit_tables(conn: psycopg.Connection) -> None:
    """Refuse clearly when provisioning has not made the erasure tables (the pipeline may not create them)."""
    found = conn.execute("select to_regprocedure(%s) is not null", (ERASURE_FUNCTIONS[-1],)).fetchone()[0]
    if not found:
        raise AuditNotProvisioned("the warehouse has no erasure audit tables: provision it with "
                                  "`make run` (the administrator creates them)")


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
    signed_record: str | None = None  # the canonical JSON of SIGNED_FIELDS, as signed
    signature: str | None = None      # Vault transit signature of signed_record ("vault:v1:...")
    request_id: str | None = None     # the data subject's request id, if the erasure was asked for with one

    def summary(self) -> dict:
        return {**self.__dict__, "requested_at": _iso(self.requested_at), "started_at": _iso(self.started_at),
                "finished_at": _iso(self.finished_at)}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


# What a signature vouches for: who was erased, why, when, what was destroyed and how that was checked. The
# step durations are left out: they are timings, not evidence.
# A certificate signed before request ids were recorded has none in its record, and none stored: they agree.
SIGNED_FIELDS = ("tenant_id", "trigger", "requested_at", "started_at", "finished_at", "run_id", "attempt_run_ids",
                 "destroyed", "verification", "verified", "request_id")


def canonical_fields(certificate: ErasureCertificate) -> dict:
    """The signed fields as JSON values; times in UTC, so the database's session time zone changes nothing."""
    values = {name: getattr(certificate, name) for name in SIGNED_FIELDS}
    for name in ("requested_at", "started_at", "finished_at"):
        moment = values[name]
        values[name] = moment.astimezone(UTC).isoformat() if moment is not None else None
    return json.loads(json.dumps(values))


def canonical_record(certificate: ErasureCertificate) -> str:
    """One text for one certificate: sorted keys, no spaces, ASCII only (what is signed and re-checked)."""
    return json.dumps(canonical_fields(certificate), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


class CertificateSigner(Protocol):
    """What signing and checking need from Vault (orchestration/secrets/vault.py implements it)."""

    def sign_erasure_record(self, record: str) -> str: ...
    def verify_erasure_record(self, record: str, signature: str) -> bool: ...


def signed(certificate: ErasureCertificate, signer: CertificateSigner) -> ErasureCertificate:
    record = canonical_record(certificate)
    return replace(certificate, signed_record=record, signature=signer.sign_erasure_record(record))


@dataclass(frozen=True)
class CertificateCheck:
    """What `retkee erasure verify` reports: the signature's state and each field that differs from it."""

    tenant_id: str
    signature: str               # "valid", "invalid" (the signed record was changed) or "missing"
    altered_fields: list[str]    # dotted paths whose stored value is not the signed one
    signature_key_version: str | None

    @property
    def valid(self) -> bool:
        return self.signature == "valid" and not self.altered_fields


def _differences(signed_value, stored_value, path: str) -> list[str]:
    if isinstance(signed_value, dict) and isinstance(stored_value, dict):
        found = []
        for key in sorted(set(signed_value) | set(stored_value)):
            found += _differences(signed_value.get(key), stored_value.get(key), f"{path}.{key}" if path else key)
        return found
    return [] if signed_value == stored_value else [path]


def check_certificate(certificate: ErasureCertificate, signer: CertificateSigner) -> CertificateCheck:
    """Is the signature Vault's, over the record it claims; and is every stored field the signed one?"""
    if not certificate.signature or not certificate.signed_record:
        return CertificateCheck(certificate.tenant_id, "missing", [], None)
    state = "valid" if signer.verify_erasure_record(certificate.signed_record, certificate.signature) else "invalid"
    try:
        signed_fields = json.loads(certificate.signed_record)
    except ValueError:
        signed_fields = {}
    if not isinstance(signed_fields, dict):
        signed_fields = {}
    stored = canonical_fields(certificate)
    altered = _differences({k: signed_fields.get(k) for k in SIGNED_FIELDS}, stored, "")
    version = certificate.signature.split(":")[1] if certificate.signature.count(":") >= 2 else None
    return CertificateCheck(certificate.tenant_id, state, altered, version)


_COLUMNS = ", ".join(f.name for f in fields(ErasureCertificate))


def read_certificate(conn: psycopg.Connection, tenant_id: str) -> ErasureCertificate | None:
    with conn.cursor(row_factory=class_row(ErasureCertificate)) as cur:
        cur.execute(f"select {_COLUMNS} from audit.erasure_certificates where tenant_id = %s",  # noqa: S608
                    (tenant_id,))
        return cur.fetchone()


def list_certificates(conn: psycopg.Connection) -> list[ErasureCertificate]:
    ensure_audit_tables(conn)
    conn.commit()
    with conn.cursor(row_factory=class_row(ErasureCertificate)) as cur:
        cur.execute(f"select {_COLUMNS} from audit.erasure_certificates order by finished_at, tenant_id")  # noqa: S608
        return cur.fetchall()


def insert_certificate(cur: psycopg.Cursor, certificate: ErasureCertificate) -> None:
    """Issue a signed certificate inside the caller's transaction (the one that marks the tenant erased); its
    erasure's progress row goes with it."""
    if not certificate.signature:
        raise ValueError("an erasure certificate is issued signed (see `signed`)")
    cur.execute(
        "select audit.issue_erasure_certificate(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            certificate.tenant_id, certificate.trigger, certificate.requested_at, certificate.started_at,
            certificate.finished_at, certificate.run_id, certificate.attempt_run_ids,
            json.dumps(certificate.destroyed), json.dumps(certificate.verification), certificate.verified,
            json.dumps(certificate.step_seconds), certificate.signed_record, certificate.signature,
        ),
    )


def start_erasure(conn: psycopg.Connection, tenant_id: str, requested_at: datetime | None, inventory: dict,
                  canary: str | None) -> None:
    """Record what exists before anything is destroyed (kept if an earlier attempt recorded it first)."""
    conn.execute("select audit.start_erasure(%s, %s, %s, %s)", (tenant_id, requested_at, json.dumps(inventory), canary))


def record_attempt(conn: psycopg.Connection, tenant_id: str, run_id: str) -> tuple[dict, str | None, datetime,
                                                                                    list[str]] | None:
    """Append this run to the erasure's attempts; the recorded inventory, canary, start and attempts (None if the
    erasure was never started)."""
    row = conn.execute("select * from audit.record_erasure_attempt(%s, %s)", (tenant_id, run_id)).fetchone()
    return None if row is None else (row[0], row[1], row[2], list(row[3]))


class RequestIdError(RetkeeError, ValueError):
    """A data subject's request id that cannot be recorded as one (too long, blank, a space, an e-mail)."""


def check_request_id(request_id: str) -> str:
    if not isinstance(request_id, str) or not REQUEST_ID_PATTERN.fullmatch(request_id):
        shown = request_id if isinstance(request_id, str) and len(request_id) <= 64 else f"{str(request_id)[:64]}…"
        raise RequestIdError(f"not a request id: {shown!r}; use 1 to 64 letters, digits and . _ : / # - "
                             "(a reference such as DSR-2026-0042, never a name or an e-mail)")
    return request_id


@dataclass(frozen=True)
class RecordedRequest:
    request_id: str | None
    requested_at: datetime


def record_request(conn: psycopg.Connection, tenant_id: str, requested_by: str,
                   request_id: str | None = None) -> RecordedRequest:
    """A data-subject erasure request: the sensor erases this tenant without a grace period. Returns what is
    recorded: the first request's id and time, if the tenant's erasure had been asked for before."""
    if requested_by not in ("seller", "operator"):
        raise ValueError("requested_by is 'seller' or 'operator'")
    if request_id is not None:
        check_request_id(request_id)
    ensure_audit_tables(conn)
    row = conn.execute("select * from audit.record_erasure_request(%s, %s, %s)",
                       (tenant_id, requested_by, request_id)).fetchone()
    conn.commit()
    return RecordedRequest(row[0], row[1])


def request_id_of(conn: psycopg.Connection, tenant_id: str) -> str | None:
    """The data subject's request id recorded for this tenant's erasure, if any."""
    row = conn.execute("select request_id from audit.erasure_requests where tenant_id = %s", (tenant_id,)).fetchone()
    return row[0] if row else None


def requested_tenants(conn: psycopg.Connection) -> set[str]:
    ensure_audit_tables(conn)
    conn.commit()
    with conn.cursor() as cur:
        cur.execute("select tenant_id from audit.erasure_requests")
        return {row[0] for row in cur.fetchall()}
