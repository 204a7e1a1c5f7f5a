"""Keeps sellers' unit costs in the tenant's raw schema (`<tenant>_raw.unit_costs`), every import appended.

An import is one transaction: all of its rows or none. Nothing is ever updated or deleted, so the table is
the history of what the seller said and when; dbt picks, per SKU, currency and start day, the latest import
(models/intermediate/int_unit_costs_versioned.sql) and margins use the cost valid on the sale day.
An import runs as the tenant's owner role (`tenant_scope`), like every other write into a tenant's schemas.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg
from psycopg import sql

from orchestration.costs.validate import UnitCost
from orchestration.warehouse.grants import tenant_scope
from orchestration.warehouse.schemas import create_schema_if_missing, tenant_schema

TABLE = "unit_costs"


@dataclass(frozen=True)
class ImportResult:
    import_id: str
    rows: int
    skus: int


def ensure_unit_costs_table(cur: psycopg.Cursor, tenant_id: str) -> None:
    raw = sql.Identifier(tenant_schema(tenant_id, "raw"))
    cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"ddl:{tenant_schema(tenant_id, 'raw')}.{TABLE}",))
    cur.execute(create_schema_if_missing(tenant_schema(tenant_id, "raw")))
    cur.execute(
        sql.SQL(
            """
            create table if not exists {}.{} (
                sku           text not null check (length(sku) between 1 and 40),
                unit_cost     numeric(14,4) not null check (unit_cost >= 0),
                currency      text not null check (currency ~ '^[A-Z]{{3}}$'),
                valid_from    date not null,
                _import_id    text not null,
                _imported_at  timestamptz not null default now(),
                _source_name  text,
                _line_number  integer,
                unique (_import_id, sku, currency, valid_from)
            )
            """
        ).format(raw, sql.Identifier(TABLE))
    )


def import_unit_costs(
    conn: psycopg.Connection, tenant_id: str, rows: list[UnitCost], source_name: str | None = None
) -> ImportResult:
    """Append one validated file's rows as a new import, atomically, as the tenant's owner role."""
    import_id = uuid.uuid4().hex
    target = sql.SQL("{}.{}").format(sql.Identifier(tenant_schema(tenant_id, "raw")), sql.Identifier(TABLE))
    with tenant_scope(conn, tenant_id), conn.transaction(), conn.cursor() as cur:
        ensure_unit_costs_table(cur, tenant_id)
        with cur.copy(
            sql.SQL(
                "copy {} (sku, unit_cost, currency, valid_from, _import_id, _source_name, _line_number) from stdin"
            ).format(target)
        ) as copy:
            for row in rows:
                copy.write_row(
                    (row.sku, row.unit_cost, row.currency, row.valid_from, import_id, source_name, row.line_number)
                )
    return ImportResult(import_id=import_id, rows=len(rows), skus=len({r.sku for r in rows}))
