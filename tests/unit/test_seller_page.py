"""The seller page's waterfall arithmetic and its HTML, on made-up P&L sums (pure logic, no warehouse)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from orchestration.serve.seller_page import (
    CurrencySection,
    Day,
    SellerPage,
    SkuMargin,
    Window,
    pnl_columns,
    profit_columns,
    waterfall,
)
from orchestration.serve.seller_page_render import render_html, waterfall_markdown


def _lines(**amounts: str) -> dict[str, Decimal]:
    lines = dict.fromkeys(pnl_columns(), Decimal(0))
    lines.update({k: Decimal(v) for k, v in amounts.items()})
    return lines


def test_the_waterfall_steps_add_up_to_the_net_profit_from_net_sales():
    # 1000.00 - 50.25 - 150.00 - 210.40 - 12.35 - 80.00 + 20.00 - 300.00 = 217.00 (fct_profit_and_loss.sql's sum)
    lines = _lines(net_sales="1000.00", refunds="-50.25", referral_fees="-150.00", fulfilment_fees="-210.40",
                   storage_fees="-12.35", advertising="-80.00", reimbursements="20.00", cost_of_goods="-300.00",
                   net_profit="217.00", ordered_product_sales="1100.00", promotions="-40.00")
    steps = waterfall(lines)
    assert steps[0].line == "net_sales" and steps[0].total and steps[0].amount == Decimal("1000.00")
    assert steps[-1].line == "net_profit" and steps[-1].total and steps[-1].amount == Decimal("217.00")
    middle = steps[1:-1]
    assert [s.line for s in middle] == ["refunds", "referral_fees", "fulfilment_fees", "storage_fees",
                                        "advertising", "reimbursements", "cost_of_goods"]
    assert steps[0].amount + sum(s.amount for s in middle) == steps[-1].amount
    # Sales lines before net sales are context, not steps: they are already inside net sales.
    assert not {"ordered_product_sales", "promotions"} & {s.line for s in steps}


def test_money_the_steps_do_not_itemise_gets_a_step_of_its_own_so_the_bars_end_at_net_profit():
    steps = waterfall(_lines(net_sales="100.00", referral_fees="-15.00", net_profit="80.00"))
    assert [(s.line, s.amount) for s in steps[1:-1]] == [("referral_fees", Decimal("-15.00")),
                                                          ("not_itemised", Decimal("-5.00"))]


def test_the_profit_columns_come_from_the_dbt_projects_categories_in_their_order():
    columns = profit_columns()
    assert columns[0] == "refunds" and "advertising" in columns and "unclassified" in columns
    assert not {"vat_on_fees", "tax_collected", "reserves_transfers", "shipped_product_sales"} & set(columns)


def test_the_page_escapes_seller_data_and_inlines_its_charts_without_fetching_anything():
    hostile = '<script>alert("x")</script>$\\frac{1}{2}$'
    section = CurrencySection(
        "USD", _lines(net_sales="10.00", referral_fees="-1.50", net_profit="8.50"),
        [Day(date(2026, 11, 1), Decimal("10.00"), Decimal("8.50"), Decimal("1.43"), Decimal("1.21"))],
        [SkuMargin(hostile, Decimal("10.00"), Decimal("8.50"), Decimal("85.0"))], [])
    page = render_html(SellerPage("t1", Window(date(2026, 11, 1), date(2026, 11, 1)), [section], []))
    assert "<script" not in page and "&lt;script&gt;" in page
    assert page.count("<svg") == 2 and "http://www.w3.org/2000/svg" in page  # the namespace, not a fetch
    assert "src=" not in page and "href=\"http" not in page and "@import" not in page
    assert "8.50" in page and "-1.50" in page


def test_the_materializations_waterfall_is_an_inline_png_per_currency():
    sections = [CurrencySection(currency, _lines(net_sales="10.00", net_profit="10.00"), [], [], [])
                for currency in ("CAD", "USD")]
    markdown = waterfall_markdown(sections)
    assert markdown.count("(data:image/png;base64,iVBORw0KGgo") == 2  # the PNG signature, base64
    assert "**CAD**" in markdown and "**USD**" in markdown
