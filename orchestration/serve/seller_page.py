"""What the seller page shows, gathered from one tenant's marts: the P&L per currency, sales and net profit per
day with their 7-day trends, the SKUs with the best and the worst margins, and the SKUs at risk of a stock-out.

Gathering only: nothing here draws or formats (orchestration/serve/seller_page_render.py does). Amounts are
the marts' own, signed from the seller's side (negative = the seller pays), and never added across currencies:
every money figure belongs to one currency's section.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

import psycopg
import yaml
from psycopg import sql

from orchestration.extract.planner import days_between
from orchestration.warehouse.schemas import check_tenant_id, tenant_schema

# Which P&L columns count in net profit is a fact of the dbt project: the var `pnl_categories` in
# dbt_project.yml, the one home of the categories (macros/pnl_categories.sql returns it to the models). It is read
# from there, so a category added to the taxonomy shows up on the waterfall.
DBT_PROJECT_FILE = Path(__file__).resolve().parents[2] / "dbt_project" / "dbt_project.yml"
# net_profit = net_sales + every profit category + cost_of_goods (fct_profit_and_loss.sql).
START, COST_OF_GOODS, END = "net_sales", "cost_of_goods", "net_profit"
# Sales lines shown before net sales on the page (the way from Seller Central's ordered product sales).
SALES_LINES = ("ordered_product_sales", "shipping_gift_wrap", "promotions", "vat_included")
DEFAULT_DAYS = 30
TREND_DAYS = 7
SKUS_SHOWN = 5


@cache
def profit_columns() -> tuple[str, ...]:
    """The fct_profit_and_loss columns of the categories counted in net profit, in the categories' order."""
    categories = yaml.safe_load(DBT_PROJECT_FILE.read_text()).get("vars", {}).get("pnl_categories") or []
    columns = tuple(c["column"] for c in categories if c["profit"] is True)
    if not columns:
        raise ValueError(f"no profit category found in {DBT_PROJECT_FILE} (vars: pnl_categories)")
    return columns


def pnl_columns() -> tuple[str, ...]:
    return (*SALES_LINES, START, *profit_columns(), COST_OF_GOODS, END)


@dataclass(frozen=True)
class Window:
    first: date
    last: date

    @property
    def days(self) -> list[date]:
        return days_between(self.first, self.last)


@dataclass(frozen=True)
class WaterfallStep:
    line: str  # the mart's column
    amount: Decimal
    total: bool  # a total bar (net sales, net profit) rather than a step from the previous total


def waterfall(lines: dict[str, Decimal]) -> list[WaterfallStep]:
    """Net sales, then each profit category that is not zero and the cost of goods, then net profit. Whatever
    the itemised steps do not account for gets a step of its own, so the bars always end at the mart's net
    profit (it is zero while the mart's definition and the macro agree)."""
    steps = [WaterfallStep(START, lines[START], True)]
    steps += [WaterfallStep(c, lines[c], False) for c in (*profit_columns(), COST_OF_GOODS) if lines.get(c)]
    rest = lines[END] - sum((s.amount for s in steps), Decimal(0))
    if rest:
        steps.append(WaterfallStep("not_itemised", rest, False))
    steps.append(WaterfallStep(END, lines[END], True))
    return steps


@dataclass(frozen=True)
class Day:
    day: date
    net_sales: Decimal
    net_profit: Decimal
    net_sales_trend: Decimal  # mean of the 7 days ending on this day (days without sales count as zero)
    net_profit_trend: Decimal


@dataclass(frozen=True)
class SkuMargin:
    sku: str
    net_sales: Decimal
    net_profit: Decimal
    margin_pct: Decimal


@dataclass(frozen=True)
class CurrencySection:
    currency: str
    lines: dict[str, Decimal]  # P&L column -> sum over the window
    days: list[Day]
    best: list[SkuMargin]
    worst: list[SkuMargin]

    @property
    def margin_pct(self) -> Decimal | None:
        sales = self.lines[START]
        return round(100 * self.lines[END] / sales, 1) if sales > 0 else None

    @property
    def waterfall(self) -> list[WaterfallStep]:
        return waterfall(self.lines)


@dataclass(frozen=True)
class StockOutRisk:
    marketplace_id: str
    snapshot_day: date
    sku: str
    fulfillable: int
    days_of_cover: Decimal | None
    restock_quantity: int | None


@dataclass(frozen=True)
class SellerPage:
    tenant_id: str
    window: Window
    sections: list[CurrencySection]
    stock_out_risks: list[StockOutRisk]


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option} must be a day as YYYY-MM-DD (got {text!r})") from None


def _marts(tenant_id: str) -> sql.Identifier:
    return sql.Identifier(tenant_schema(tenant_id, "marts"))


def _has_table(cur, tenant_id: str, table: str) -> bool:
    cur.execute("select 1 from information_schema.tables where table_schema = %s and table_name = %s",
                (tenant_schema(tenant_id, "marts"), table))
    return cur.fetchone() is not None


def choose_window(conn: psycopg.Connection, tenant_id: str, first: date | None, last: date | None) -> Window:
    """The days asked for; by default the last 30 days the P&L holds (ending on its last local day, starting no
    earlier than its first)."""
    with conn.cursor() as cur:
        if not _has_table(cur, tenant_id, "fct_profit_and_loss"):
            raise ValueError(f"tenant {tenant_id} has no P&L yet: run `retkee refresh` first")
        cur.execute(sql.SQL("select min(date_day), max(date_day) from {}.fct_profit_and_loss").format(
            _marts(tenant_id)))
        first_held, last_held = cur.fetchone()
    if last_held is None:
        raise ValueError(f"tenant {tenant_id}'s P&L is empty: run `retkee refresh` first")
    last = last or last_held
    # By default the page shows no day before the first one held (a new seller's page is not mostly empty).
    first = first or max(last - timedelta(days=DEFAULT_DAYS - 1), min(first_held, last))
    if first > last:
        raise ValueError(f"--from {first} is after --to {last}")
    return Window(first, last)


def _lines(cur, tenant_id: str, window: Window) -> dict[str, dict[str, Decimal]]:
    columns = pnl_columns()
    cur.execute(sql.SQL(
        "select currency_code, {} from {}.fct_profit_and_loss where date_day between %s and %s"
        " group by currency_code order by currency_code").format(
        sql.SQL(", ").join(sql.SQL("coalesce(sum({}), 0)").format(sql.Identifier(c)) for c in columns),
        _marts(tenant_id)), (window.first, window.last))
    return {row[0]: dict(zip(columns, row[1:], strict=True)) for row in cur.fetchall()}


def _days(cur, tenant_id: str, window: Window, currency: str) -> list[Day]:
    # The trend of the window's first days reaches back before it, into days the window does not show.
    reach = Window(window.first - timedelta(days=TREND_DAYS - 1), window.last)
    cur.execute(sql.SQL(
        "select date_day, sum(net_sales), sum(net_profit) from {}.fct_profit_and_loss"
        " where currency_code = %s and date_day between %s and %s group by date_day").format(_marts(tenant_id)),
        (currency, reach.first, reach.last))
    held = {day: (sales, profit) for day, sales, profit in cur.fetchall()}
    series = [(day, *held.get(day, (Decimal(0), Decimal(0)))) for day in reach.days]
    days = []
    for n, (day, sales, profit) in enumerate(series):
        if day < window.first:
            continue
        week = series[max(0, n - TREND_DAYS + 1): n + 1]
        days.append(Day(day, sales, profit, sum(s for _, s, _ in week) / TREND_DAYS,
                        sum(p for _, _, p in week) / TREND_DAYS))
    return days


def _sku_margins(cur, tenant_id: str, window: Window, currency: str) -> list[SkuMargin]:
    """Every SKU with net sales in the window, best margin first (the UNALLOCATED row is no SKU)."""
    cur.execute(sql.SQL(
        "select sku, sum(net_sales), sum(net_profit), round(100 * sum(net_profit) / sum(net_sales), 1)"
        " from {}.fct_profit_and_loss where currency_code = %s and date_day between %s and %s and sku is not null"
        " group by sku having sum(net_sales) > 0 order by 4 desc, sku").format(_marts(tenant_id)),
        (currency, window.first, window.last))
    return [SkuMargin(*row) for row in cur.fetchall()]


def _stock_out_risks(cur, tenant_id: str) -> list[StockOutRisk]:
    """SKUs at risk on each marketplace's latest snapshot day, the least cover first."""
    if not _has_table(cur, tenant_id, "fct_inventory_health"):
        return []
    cur.execute(sql.SQL(
        "select marketplace_id, date_day, sku, fulfillable, days_of_cover, restock_quantity"
        " from {0}.fct_inventory_health h"
        " where stock_out_risk and date_day = (select max(date_day) from {0}.fct_inventory_health"
        " where marketplace_id = h.marketplace_id)"
        " order by marketplace_id, days_of_cover nulls first, sku").format(_marts(tenant_id)))
    return [StockOutRisk(*row) for row in cur.fetchall()]


def gather(conn: psycopg.Connection, tenant_id: str, first: date | None = None,
           last: date | None = None) -> SellerPage:
    tenant_id = check_tenant_id(tenant_id)
    window = choose_window(conn, tenant_id, first, last)
    sections = []
    with conn.cursor() as cur:
        for currency, lines in _lines(cur, tenant_id, window).items():
            margins = _sku_margins(cur, tenant_id, window, currency)
            best = margins[:SKUS_SHOWN]
            worst = [m for m in reversed(margins) if m not in best][:SKUS_SHOWN]
            sections.append(CurrencySection(currency, lines, _days(cur, tenant_id, window, currency), best, worst))
        risks = _stock_out_risks(cur, tenant_id)
    return SellerPage(tenant_id, window, sections, risks)


def default_page_path(settings, tenant_id: str) -> Path:
    """Beside the compliance report (.data/reports/), one file per tenant."""
    return settings.landing_dir.parent / "reports" / f"seller-{check_tenant_id(tenant_id)}.html"
