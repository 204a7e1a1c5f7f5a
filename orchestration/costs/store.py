"""Keeps sellers' unit costs in the tenant's raw schema (`<tenant>_raw.unit_costs`), every import appended.

An import is one transaction: all of its rows or none. Nothing is ever updated or deleted, so the table is
the history of what the seller said and when; dbt picks, per SKU, currency and start day, the latest import
(models/intermediate/int_unit_costs_versioned.sql) and margins use the cost valid on the sale day.
An import runs as the tenant's owner role (`tenant_scope`), like every other write into a tenant's schemas.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from orchestration.costs.validate import MAX_PROBLEMS, CostFileError, UnitCost
from orchestration.csv_input import quoted
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
    conn: psycopg.Connection, tenant_id: str, rows: Iterable[UnitCost], source_name: str | None = None
) -> ImportResult:
    """Append one file's rows as a new import, atomically, as the tenant's owner role.

    `rows` may be a stream (validate.check_unit_costs over a file being read): each row is copied as it comes
    into a temporary table, so nothing is held in memory, and an error from the stream (a bad row, even the
    last of the file) rolls the whole transaction back: nothing is imported. A SKU given twice for one currency
    and day is found there too, before anything reaches the tenant's table.
    """
    import_id = uuid.uuid4().hex
    target = sql.SQL("{}.{}").format(sql.Identifier(tenant_schema(tenant_id, "raw")), sql.Identifier(TABLE))
    with tenant_scope(conn, tenant_id), conn.transaction(), conn.cursor() as cur:
        ensure_unit_costs_table(cur, tenant_id)
        cur.execute("create temporary table incoming_unit_costs (sku text, unit_cost numeric(14,4), currency text,"
                    " valid_from date, line_number integer) on commit drop")
        with cur.copy("copy incoming_unit_costs (sku, unit_cost, currency, valid_from, line_number) from stdin"
                      ) as copy:
            for row in rows:
                copy.write_row((row.sku, row.unit_cost, row.currency, row.valid_from, row.line_number))
        cur.execute(
            "select sku, currency, valid_from, (array_agg(line_number order by line_number))[1:2], count(*) over ()"
            " from incoming_unit_costs group by sku, currency, valid_from having count(*) > 1"
            " order by min(line_number) limit %s", (MAX_PROBLEMS,))
        repeated = cur.fetchall()
        if repeated:
            problems = [f"line {lines[1]}: SKU {quoted(sku, 40)} already has a {currency} cost from {day} on line "
                        f"{lines[0]}" for sku, currency, day, lines, _ in repeated]
            raise CostFileError(problems, more=repeated[0][4] - len(problems))
        cur.execute(
            sql.SQL(
                "insert into {} (sku, unit_cost, currency, valid_from, _import_id, _source_name, _line_number)"
                " select sku, unit_cost, currency, valid_from, %s, %s, line_number from incoming_unit_costs"
            ).format(target),
            (import_id, source_name),
        )
        imported = cur.rowcount
        cur.execute("select count(distinct sku) from incoming_unit_costs")
        skus = cur.fetchone()[0]
    return ImportResult(import_id=import_id, rows=imported, skus=skus)
