"""Unit-cost files: every bad row is reported with its line, and a file with any bad row yields nothing."""

from datetime import date
from decimal import Decimal

import pytest

from orchestration.costs.validate import CostFileError, parse_unit_costs


def test_a_good_file_gives_typed_rows_with_their_line_numbers():
    rows = parse_unit_costs("\ufeffSKU,Cost,Currency,Valid_From\nA-1, 3.25 ,usd,2026-01-01\n\nB-2,0,EUR,2026-02-01\n")
    assert [(r.line_number, r.sku, r.unit_cost, r.currency, r.valid_from) for r in rows] == [
        (2, "A-1", Decimal("3.25"), "USD", date(2026, 1, 1)),
        (4, "B-2", Decimal("0"), "EUR", date(2026, 2, 1)),
    ]


def test_every_bad_row_is_reported_and_nothing_is_returned():
    text = (
        "sku,unit_cost,currency,valid_from\n"
        "A,abc,USD,2026-01-01\n"
        "B,-1,USD,2026-01-01\n"
        ",2,USD,2026-01-01\n"
        "C,2,XXX,2026-01-01\n"
        "D,2,USD,01/02/2026\n"
        "E,2.123456,USD,2026-01-01\n"
        "F,2,USD\n"
        "G,NaN,USD,2026-01-01\n"
    )
    with pytest.raises(CostFileError) as caught:
        parse_unit_costs(text)
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == [f"line {n}" for n in range(2, 10)]
    assert "not a number" in problems[0]
    assert "negative" in problems[1]
    assert "sku is empty" in problems[2]
    assert "not a marketplace currency" in problems[3]
    assert "not a date" in problems[4]
    assert "more than 4 decimals" in problems[5]
    assert "expected 4 fields" in problems[6]
    assert "finite" in problems[7]
    assert "nothing was imported" in str(caught.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("sku,currency,valid_from\nA,USD,2026-01-01\n", "missing column(s): unit_cost"),
        ("sku,unit_cost,currency,valid_from,colour\n", "unknown column(s): 'colour'"),
        ("sku,unit_cost,currency,valid_from\n", "no rows"),
    ],
)
def test_bad_headers_and_empty_files_are_refused(text, message):
    with pytest.raises(CostFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_unit_costs(text)
