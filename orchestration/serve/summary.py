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


def layer_counts(counts: list[TableCount]) -> dict[str, int]:
    """Rows held per layer (raw, staging, marts, quarantine): the one-line view of `table_counts`."""
    totals = {layer: 0 for layer in ("raw", "staging", "marts", "quarantine")}
    for count in counts:
        totals[count.schema.rsplit("_", 1)[1]] += count.rows
    return totals


# The P&L lines the summary shows are the mart's own money columns, in the mart's order (so a category added to
# the fee taxonomy shows up here without a second list): from ordered product sales to net profit, less the
# bookkeeping columns. Margin is recomputed from the sums, as the mart defines it per row.
PNL_FIRST, PNL_LAST = "ordered_product_sales", "net_profit"
PNL_NOT_LINES = frozenset({"allocated_amount", "unit_cost"})


@dataclass(frozen=True)
class ProfitAndLoss:
    currency: str
    lines: dict[str, object]  # column -> sum over the period, in the marketplace currency

    @property
    def margin_pct(self):
        sales = self.lines.get("net_sales") or 0
        return round(100 * self.lines["net_profit"] / sales, 1) if sales > 0 else None


def profit_and_loss(conn: psycopg.Connection, tenant: Tenant) -> list[ProfitAndLoss]:
    """The tenant's P&L over everything fct_profit_and_loss holds, one per currency (never added across)."""
    schema = tenant_schema(tenant.tenant_id, "marts")
    with conn.cursor() as cur:
        cur.execute(
            "select column_name from information_schema.columns where table_schema = %s"
            " and table_name = 'fct_profit_and_loss' order by ordinal_position",
            (schema,),
        )
        columns = [name for (name,) in cur.fetchall()]
        if PNL_FIRST not in columns or PNL_LAST not in columns:
            return []
        lines = [c for c in columns[columns.index(PNL_FIRST): columns.index(PNL_LAST) + 1] if c not in PNL_NOT_LINES]
        cur.execute(
            sql.SQL("select currency_code, {} from {}.fct_profit_and_loss group by currency_code order by 1").format(
                sql.SQL(", ").join(sql.SQL("coalesce(sum({}), 0)").format(sql.Identifier(c)) for c in lines),
                sql.Identifier(schema),
            )
        )
        return [ProfitAndLoss(row[0], dict(zip(lines, row[1:], strict=True))) for row in cur.fetchall()]
