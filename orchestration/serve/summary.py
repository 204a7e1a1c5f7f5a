"""A short operator summary of the warehouse: rows per tenant table and each seller's top SKUs."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from orchestration.tenants.registry import Tenant
from orchestration.warehouse.schemas import tenant_schema


@dataclass(frozen=True)
class TableCount:
    schema: str
    table: str
    rows: int


def table_counts(conn: psycopg.Connection, tenant: Tenant) -> list[TableCount]:
    schemas = [tenant_schema(tenant.tenant_id, layer) for layer in ("raw", "staging", "marts", "quarantine")]
    with conn.cursor() as cur:
        cur.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema = any(%s) order by table_schema, table_name",
            (schemas,),
        )
        tables = cur.fetchall()
        counts = []
        for schema, table in tables:
            cur.execute(sql.SQL("select count(*) from {}.{}").format(sql.Identifier(schema), sql.Identifier(table)))
            counts.append(TableCount(schema, table, cur.fetchone()[0]))
    return counts


def top_skus(conn: psycopg.Connection, tenant: Tenant, limit: int = 5) -> list[tuple[str, str, object, int]]:
    """(sku, currency, revenue, units) by revenue, from the tenant's daily sales mart."""
    marts = sql.Identifier(tenant_schema(tenant.tenant_id, "marts"))
    with conn.cursor() as cur:
        cur.execute(
            "select 1 from information_schema.tables where table_schema = %s and table_name = 'fct_daily_sales'",
            (tenant_schema(tenant.tenant_id, "marts"),),
        )
        if cur.fetchone() is None:
            return []
        cur.execute(
            sql.SQL(
                "select sku, currency_code, sum(revenue), sum(units) from {}.fct_daily_sales"
                " group by sku, currency_code order by sum(revenue) desc, sku limit %s"
            ).format(marts),
            (limit,),
        )
        return cur.fetchall()
