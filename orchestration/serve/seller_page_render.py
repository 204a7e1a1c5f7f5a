"""The seller page as one self-contained HTML file, and the P&L waterfall as a PNG for Dagster's UI.

Charts are drawn here with matplotlib (no pyplot state, the Agg/SVG canvases only) and inlined as SVG: the
page fetches nothing, runs no JavaScript and opens offline. Nothing is told by colour alone: bars carry their
amounts and hatching (totals plain, costs hatched one way, income the other), lines carry markers, and every
chart has the same figures in a table beside it. Every value from the warehouse is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.dates import DateFormatter, DayLocator
from matplotlib.figure import Figure

from orchestration.serve.seller_page import (
    END,
    SALES_LINES,
    START,
    CurrencySection,
    SellerPage,
    SkuMargin,
    WaterfallStep,
    pnl_columns,
)

# svg.fonttype none: chart text stays text (selectable, found by a search, read by a screen reader).
STYLE = {"svg.fonttype": "none", "font.size": 9, "hatch.linewidth": 0.8}
HATCH = {"total": "", "cost": "////", "income": ".."}
FILL = {"total": "#4a5a6a", "cost": "#d9a0a0", "income": "#a0c8a0"}


def label(column: str) -> str:
    return {"not_itemised": "not itemised"}.get(column, column.replace("_", " "))


def money(amount: Decimal | None) -> str:
    return "-" if amount is None else f"{amount:,.2f}"


def _plain(text: str) -> str:
    """Text for matplotlib drawn as written: a `$` would otherwise start mathtext."""
    return text.replace("$", r"\$")


def _kind(step: WaterfallStep) -> str:
    return "total" if step.total else "cost" if step.amount < 0 else "income"


def waterfall_figure(section: CurrencySection) -> Figure:
    steps = section.waterfall
    figure = Figure(figsize=(7.5, 3.6), layout="constrained")
    axes = figure.add_subplot()
    running = Decimal(0)
    extents = [Decimal(0)]
    for x, step in enumerate(steps):
        bottom = Decimal(0) if step.total else running
        running = step.amount if step.total else running + step.amount
        extents += [bottom, bottom + step.amount]
        kind = _kind(step)
        axes.bar(x, float(step.amount), bottom=float(bottom), color=FILL[kind], hatch=HATCH[kind],
                 edgecolor="#222222", linewidth=0.6)
        axes.annotate(money(step.amount), (x, float(max(bottom, bottom + step.amount))), ha="center",
                      va="bottom", fontsize=7, xytext=(0, 2), textcoords="offset points")
    axes.axhline(0, color="#222222", linewidth=0.6)
    # Room for the amounts above the tallest bar (a step's bottom is a sticky edge: margins() would not do).
    low, high = float(min(extents)), float(max(extents))
    axes.set_ylim(low - 0.06 * (high - low or 1), high + 0.14 * (high - low or 1))
    axes.set_xticks(range(len(steps)), [label(s.line) for s in steps], rotation=35, ha="right")
    axes.set_ylabel(_plain(section.currency))
    axes.set_title(_plain(f"P&L waterfall, {section.currency}: net sales to net profit"), loc="left")
    axes.spines[["top", "right"]].set_visible(False)
    return figure


def daily_figure(section: CurrencySection) -> Figure:
    figure = Figure(figsize=(7.5, 3.0), layout="constrained")
    axes = figure.add_subplot()
    days = [d.day for d in section.days]
    axes.plot(days, [float(d.net_sales) for d in section.days], marker="o", markersize=3, linewidth=1,
              color="#3b6ea5", label="net sales")
    axes.plot(days, [float(d.net_sales_trend) for d in section.days], linestyle="--", linewidth=1.5,
              color="#3b6ea5", label="net sales, 7-day mean")
    axes.plot(days, [float(d.net_profit) for d in section.days], marker="s", markersize=3, linewidth=1,
              color="#a5503b", label="net profit")
    axes.plot(days, [float(d.net_profit_trend) for d in section.days], linestyle=":", linewidth=1.5,
              color="#a5503b", label="net profit, 7-day mean")
    axes.axhline(0, color="#222222", linewidth=0.6)
    axes.set_ylabel(_plain(section.currency))
    axes.set_title(_plain(f"Per day, {section.currency}"), loc="left")
    axes.legend(fontsize=7, frameon=False, ncols=2)
    axes.spines[["top", "right"]].set_visible(False)
    axes.xaxis.set_major_locator(DayLocator(interval=max(1, len(days) // 8)))
    axes.xaxis.set_major_formatter(DateFormatter("%Y-%m-%d"))
    figure.autofmt_xdate()
    return figure


def svg(draw: Callable[[CurrencySection], Figure], section: CurrencySection) -> str:
    out = io.StringIO()
    with rc_context(STYLE):  # the style applies while the figure is made and while it is drawn
        FigureCanvasSVG(draw(section)).print_svg(out, metadata={"Date": None})
    text = out.getvalue()
    return text[text.index("<svg"):]  # the XML prolog and doctype do not belong inside HTML


def png(draw: Callable[[CurrencySection], Figure], section: CurrencySection, dpi: int = 80) -> bytes:
    out = io.BytesIO()
    with rc_context(STYLE):
        figure = draw(section)
        FigureCanvasAgg(figure)
        figure.savefig(out, format="png", dpi=dpi)
    return out.getvalue()


def waterfall_markdown(sections: list[CurrencySection]) -> str:
    """The waterfall of each currency as an inline PNG, for a materialization's Markdown metadata."""
    parts = []
    for section in sections:
        image = base64.b64encode(png(waterfall_figure, section)).decode("ascii")
        parts.append(f"**{section.currency}**: net profit {money(section.lines[END])}\n\n"
                     f"![P&L waterfall {section.currency}](data:image/png;base64,{image})")
    return "\n\n".join(parts) or "no P&L rows in the last 30 days"


# --- HTML ----------------------------------------------------------------------------------------------------

e = html.escape


def _table(caption: str, headers: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td class=\"{'n' if i >= numeric_from else ''}\">{e(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><caption>{e(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pnl_table(section: CurrencySection) -> str:
    shown = [c for c in pnl_columns() if c in (*SALES_LINES, START, END) or section.lines[c]]
    rows = [[label(c), money(section.lines[c])] for c in shown]
    rows.append(["margin %", "-" if section.margin_pct is None else f"{section.margin_pct}"])
    return _table(f"P&L, {section.currency} (lines that are zero are left out)", ["line", section.currency], rows)


def _days_table(section: CurrencySection) -> str:
    rows = [[d.day.isoformat(), money(d.net_sales), money(round(d.net_sales_trend, 2)), money(d.net_profit),
             money(round(d.net_profit_trend, 2))] for d in section.days]
    return _table(f"Per day, {section.currency}", ["day", "net sales", "7-day mean", "net profit", "7-day mean"],
                  rows)


def _skus_table(caption: str, skus: list[SkuMargin]) -> str:
    rows = [[s.sku, money(s.net_sales), money(s.net_profit), f"{s.margin_pct}"] for s in skus]
    return _table(caption, ["SKU", "net sales", "net profit", "margin %"], rows)


def _section(section: CurrencySection) -> str:
    currency = e(section.currency)
    return f"""
<section id="pnl-{currency}" aria-labelledby="h-{currency}">
<h2 id="h-{currency}">{currency}: net profit {e(money(section.lines[END]))} on net sales
{e(money(section.lines[START]))}</h2>
<div class="pair"><figure>{svg(waterfall_figure, section)}<figcaption>Solid bars are totals; hatched ////
bars are costs, dotted bars are income; each bar is labelled with its amount.</figcaption></figure>
{_pnl_table(section)}</div>
<div class="pair"><figure>{svg(daily_figure, section)}<figcaption>Circles: net sales per day; squares: net
profit per day; dashed and dotted lines: their 7-day means.</figcaption></figure>
{_days_table(section)}</div>
<div class="pair">{_skus_table(f"Best margins, {section.currency}", section.best)}
{_skus_table(f"Worst margins, {section.currency}", section.worst)}</div>
</section>"""


def _stock(page: SellerPage) -> str:
    if not page.stock_out_risks:
        return "<p>No SKU is at risk of a stock-out on the latest inventory snapshot.</p>"
    rows = [[r.marketplace_id, r.snapshot_day.isoformat(), r.sku, str(r.fulfillable),
             "-" if r.days_of_cover is None else str(r.days_of_cover),
             "-" if r.restock_quantity is None else str(r.restock_quantity)] for r in page.stock_out_risks]
    return _table("SKUs at risk of a stock-out (latest inventory snapshot per marketplace)",
                  ["marketplace", "snapshot day", "SKU", "fulfillable", "days of cover", "restock quantity"], rows,
                  numeric_from=3)


CSS = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#111;max-width:1400px}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-top:1px solid #999;padding-top:.8rem}
.pair{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start;margin:.8rem 0}
figure{margin:0;max-width:760px}figure svg{width:100%;height:auto}figcaption{font-size:.8rem;color:#333}
table{border-collapse:collapse;font-size:.8rem}caption{text-align:left;font-weight:600;padding:.3rem 0}
th,td{border:1px solid #bbb;padding:.15rem .45rem}td.n{text-align:right;font-variant-numeric:tabular-nums}
"""


def render_html(page: SellerPage, generated_at: datetime | None = None) -> str:
    generated = (generated_at or datetime.now(UTC)).isoformat(timespec="seconds")
    sections = "".join(_section(s) for s in page.sections) or "<p>No P&amp;L rows in this window.</p>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Seller page: {e(page.tenant_id)}</title><style>{CSS}</style></head>
<body>
<h1>Seller page: tenant {e(page.tenant_id)}, {e(page.window.first.isoformat())} to
{e(page.window.last.isoformat())}</h1>
<p>From the tenant's marts (fct_profit_and_loss, fct_inventory_health), by the marketplace's local day.
Amounts in each marketplace's currency, signed from the seller's side (negative = the seller pays); currencies
are never added together. Net profit = net sales + fees, refunds and credits + cost of goods (docs/marts.md).
Generated {e(generated)}.</p>
{sections}
<section id="stock-out-risk"><h2>Stock-out risk</h2>{_stock(page)}</section>
</body></html>
"""
