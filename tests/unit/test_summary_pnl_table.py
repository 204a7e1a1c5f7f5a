"""The P&L table of `retkee summary`: on an 80-column terminal it shows the lines that make net profit, seller ids
whole, and with --tables every line the mart holds (shipped sales and taxes are shown there, not counted)."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console

from orchestration.cli import _pnl_table
from orchestration.serve.summary import ProfitAndLoss

LINES = {
    "ordered_product_sales": Decimal("31041.92"), "promotions": Decimal("-729.04"), "vat_included": Decimal(0),
    "net_sales": Decimal("30312.88"), "shipped_product_sales": Decimal("27970.14"), "refunds": Decimal("-1056.52"),
    "referral_fees": Decimal("-4095.41"), "storage_fees": Decimal(0), "tax_collected": Decimal("1911.35"),
    "cost_of_goods": Decimal("-11577.76"), "net_profit": Decimal("13583.19"),
}
SELLERS = ("A1RETKEEDEMOUS", "A2RETKEEDEMONA", "A2RETKEEDEMONA", "A3RETKEEDEMODE")


def _render(every_line: bool) -> str:
    currencies = ("USD", "CAD", "USD", "EUR")
    pnl = [(seller, ProfitAndLoss(currency, dict(LINES))) for seller, currency in zip(SELLERS, currencies, strict=True)]
    console = Console(width=80, record=True, color_system=None)
    console.print(_pnl_table(pnl, every_line=every_line))
    return console.export_text()


def test_the_default_table_shows_what_net_profit_is_made_of_within_80_columns():
    text = _render(every_line=False)
    assert max(len(line) for line in text.splitlines()) <= 80
    for shown in ("ordered product sales", "net sales", "refunds", "referral fees", "cost of goods", "net profit"):
        assert shown in text
    assert "shipped product sales" not in text and "tax collected" not in text
    assert "storage fees" not in text  # zero for every seller
    # The seller id is folded over the header's lines, never cut: rejoined, every id is whole.
    header = "".join(line for line in text.splitlines()[:3])
    compact = header.replace(" ", "").replace("┃", "")
    assert all(s[:10] in compact for s in SELLERS) and "…" not in text


def test_with_tables_every_line_is_shown():
    text = _render(every_line=True)
    assert "shipped product sales" in text and "tax collected" in text
