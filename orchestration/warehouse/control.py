"""The control schema: the tenant registry and its history. Created idempotently on first use, together with the
shared reference tables every tenant's marts read (exchange rates, orchestration/fx/store.py)."""

from __future__ import annotations

import psycopg

from orchestration.fx.store import ensure_fx_rates_table
from orchestration.tenants.settings import SETTINGS_DDL
from orchestration.warehouse.grants import grant_compliance_lifecycle_read
from orchestration.warehouse.schemas import create_schema_if_missing

CONTROL_SCHEMA = "control"
CONTROL_DDL = [
    # The schema itself is made by provisioning (the pipeline has no CREATE on the database); made here only on a
    # warehouse provisioned otherwise, by a role that may.
    create_schema_if_missing(CONTROL_SCHEMA),
    """
    create table if not exists control.tenants (
        tenant_id          text primary key check (tenant_id ~ '^t[0-9a-f]{12}$'),
        seller_id          text,            -- nulled on erasure; the only seller identifier we keep
        region             text not null check (region in ('na', 'eu', 'fe')),
        marketplace_ids    text[] not null,
        status             text not null check (status in ('active', 'revoked', 'terminated', 'erased')),
        status_reason      text,
        created_at         timestamptz not null default now(),
        status_changed_at  timestamptz not null default now(),
        erasure_requested_at timestamptz
    )
    """,
    # One live tenant per seller: a seller who re-authorizes after erasure becomes a new tenant.
    """
    create unique index if not exists tenants_one_live_tenant_per_seller
        on control.tenants (seller_id) where status <> 'erased'
    """,
    """
    create table if not exists control.tenant_status_history (
        id          bigserial primary key,
        tenant_id   text not null,
        status      text not null,
        reason      text,
        changed_at  timestamptz not null default now()
    )
    """,
]


def ensure_control_schema(conn: psycopg.Connection) -> None:
    with conn.cursor() as cur:
        # Serialise concurrent first runs: CREATE ... IF NOT EXISTS still races on the catalog.
        cur.execute("select pg_advisory_xact_lock(hashtext('retkee.control.ddl'))")
        for statement in CONTROL_DDL:
            cur.execute(statement)
        cur.execute(SETTINGS_DDL)
        ensure_fx_rates_table(cur)
    grant_compliance_lifecycle_read(conn)
