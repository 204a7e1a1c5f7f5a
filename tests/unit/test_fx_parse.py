"""The ECB reference-rate file is read as the ECB writes it, and a file with any bad row is refused whole."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from orchestration.fx.parse import FxFileError, parse_ecb_rates

# The ECB's own layout: newest day first, N/A where it has no rate, a trailing comma on every line.
ECB = """Date,USD,JPY,BGN,CYP,
2026-11-20,1.0523,162.51,1.9558,N/A,
2026-11-19,1.0544,163.73,1.9558,N/A,
"""


def test_an_ecb_file_gives_every_published_rate_and_skips_not_available():
    rates = parse_ecb_rates(ECB)
    assert {(r.rate_date, r.currency): r.rate_per_eur for r in rates} == {
        (date(2026, 11, 20), "USD"): Decimal("1.0523"),
        (date(2026, 11, 20), "JPY"): Decimal("162.51"),
        (date(2026, 11, 20), "BGN"): Decimal("1.9558"),
        (date(2026, 11, 19), "USD"): Decimal("1.0544"),
        (date(2026, 11, 19), "JPY"): Decimal("163.73"),
        (date(2026, 11, 19), "BGN"): Decimal("1.9558"),
    }
    assert {r.line_number for r in rates if r.rate_date == date(2026, 11, 19)} == {3}


def test_a_byte_order_mark_and_a_file_without_trailing_commas_are_read_too():
    rates = parse_ecb_rates("\ufeffDate,USD\n2026-11-20,1.05\n")
    assert [(r.currency, r.rate_per_eur) for r in rates] == [("USD", Decimal("1.05"))]


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("2026-11-18,abc,160.00,1.9558,N/A,", "line 4: USD 'abc' is not a number or N/A"),
        ("2026-11-18,-1.05,160.00,1.9558,N/A,", "line 4: USD '-1.05' is not a positive rate"),
        ("18.11.2026,1.05,160.00,1.9558,N/A,", "line 4: Date '18.11.2026' is not a date (YYYY-MM-DD)"),
        ("2026-11-18,1.05,160.00,", "line 4: expected 5 fields, found 4"),
        ("2026-11-20,1.05,160.00,1.9558,N/A,", "line 4: 2026-11-20 is already on line 2"),
    ],
)
def test_one_bad_row_refuses_the_whole_file_and_names_the_row(row, problem):
    with pytest.raises(FxFileError) as refused:
        parse_ecb_rates(ECB + row + "\n")
    assert refused.value.problems == [problem]
    assert "nothing was imported" in str(refused.value)


def test_every_bad_row_is_listed_at_once():
    with pytest.raises(FxFileError) as refused:
        parse_ecb_rates(ECB + "2026-11-18,x,160,1.9,N/A,\n2026-11-17,1.05,y,1.9,N/A,\n")
    assert [p.split(":")[0] for p in refused.value.problems] == ["line 4", "line 5"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "line 1: the file is empty"),
        ("Day,USD\n2026-11-20,1.05\n", "line 1: the first column must be Date"),
        ("Date,EUR\n2026-11-20,1\n", "line 1: rates are per 1 EUR"),
        ("Date,US Dollar\n2026-11-20,1.05\n", "line 1: column 'US DOLLAR' is not an ISO 4217 currency code"),
        ("Date,USD,USD\n2026-11-20,1.05,1.05\n", "line 1: repeated column(s): USD"),
        ("Date,USD\n", "the file has a header but no rows"),
        ("Date,USD,\n2026-11-20,N/A,\n", "the file has no rate: every value is N/A"),
    ],
)
def test_a_bad_header_or_an_empty_file_is_refused(text, problem):
    with pytest.raises(FxFileError) as refused:
        parse_ecb_rates(text)
    assert refused.value.problems[0].startswith(problem)
