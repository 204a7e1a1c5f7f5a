"""Reads a seller's unit-cost CSV and checks every row; a file with any bad row is refused as a whole.

The file has a header with exactly these columns, in any order: `sku`, `unit_cost` (or `cost`), `currency`,
`valid_from` (YYYY-MM-DD). Every problem is reported with its line number, so the seller can fix the file in
one go.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from orchestration.extract.marketplaces import CURRENCIES as MARKETPLACE_CURRENCIES

REQUIRED = ("sku", "unit_cost", "currency", "valid_from")
ALIASES = {"cost": "unit_cost"}
# The currencies of Amazon's marketplaces: a cost in any other currency could never meet a sale.
CURRENCIES = MARKETPLACE_CURRENCIES
MAX_SKU_LENGTH = 40  # Amazon's limit for a seller SKU
MAX_UNIT_COST = Decimal("9999999999.9999")  # numeric(14,4)
EARLIEST = date(2000, 1, 1)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class UnitCost:
    line_number: int
    sku: str
    unit_cost: Decimal
    currency: str
    valid_from: date


class CostFileError(ValueError):
    """The file cannot be imported; `problems` lists every bad line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:50]
        more = f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        super().__init__(
            f"{len(problems)} problem(s); nothing was imported:\n  " + "\n  ".join(shown) + more
        )


def parse_unit_costs(text: str) -> list[UnitCost]:
    """Every row of the file as a UnitCost, or CostFileError with one message per bad row."""
    if text.startswith("\ufeff"):
        text = text[1:]  # spreadsheets save a byte-order mark
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or not any(h.strip() for h in header):
        raise CostFileError(["line 1: the file is empty; expected a header: " + ",".join(REQUIRED)])
    names = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in header]
    problems = []
    missing = [c for c in REQUIRED if c not in names]
    unknown = [h for h, n in zip(header, names, strict=True) if n not in REQUIRED]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if missing:
        problems.append(f"line 1: missing column(s): {', '.join(missing)}")
    if unknown:
        problems.append(f"line 1: unknown column(s): {', '.join(unknown)}")
    if duplicated:
        problems.append(f"line 1: repeated column(s): {', '.join(duplicated)}")
    if problems:
        raise CostFileError(problems)

    rows: list[UnitCost] = []
    seen: dict[tuple[str, str, date], int] = {}
    for line_number, fields in enumerate(reader, start=2):
        if not any(f.strip() for f in fields):
            continue  # blank lines are harmless
        if len(fields) != len(names):
            problems.append(f"line {line_number}: expected {len(names)} fields, found {len(fields)}")
            continue
        record = dict(zip(names, fields, strict=True))
        row, row_problems = _check_row(line_number, record)
        problems.extend(row_problems)
        if row is None:
            continue
        key = (row.sku, row.currency, row.valid_from)
        if key in seen:
            problems.append(
                f"line {line_number}: SKU {row.sku!r} already has a {row.currency} cost from "
                f"{row.valid_from} on line {seen[key]}"
            )
            continue
        seen[key] = line_number
        rows.append(row)
    if problems:
        raise CostFileError(problems)
    if not rows:
        raise CostFileError(["the file has a header but no rows"])
    return rows


def _check_row(line_number: int, record: dict[str, str]) -> tuple[UnitCost | None, list[str]]:
    at = f"line {line_number}:"
    problems = []
    sku = record["sku"].strip()
    if not sku:
        problems.append(f"{at} sku is empty")
    elif len(sku) > MAX_SKU_LENGTH:
        problems.append(f"{at} sku {sku[:20]!r}... is longer than {MAX_SKU_LENGTH} characters")
    elif _CONTROL.search(sku):
        problems.append(f"{at} sku contains control characters")

    raw_cost = record["unit_cost"].strip()
    cost: Decimal | None = None
    try:
        cost = Decimal(raw_cost)
    except InvalidOperation:
        problems.append(f"{at} unit_cost {raw_cost!r} is not a number (use a dot for decimals: 12.50)")
    if cost is not None:
        if not cost.is_finite():
            problems.append(f"{at} unit_cost {raw_cost!r} is not a finite number")
            cost = None
        elif cost < 0:
            problems.append(f"{at} unit_cost {raw_cost} is negative")
        elif cost > MAX_UNIT_COST:
            problems.append(f"{at} unit_cost {raw_cost} is too large")
        elif cost.as_tuple().exponent < -4:
            problems.append(f"{at} unit_cost {raw_cost} has more than 4 decimals")

    currency = record["currency"].strip().upper()
    if currency not in CURRENCIES:
        problems.append(
            f"{at} currency {record['currency'].strip()!r} is not a marketplace currency "
            f"({', '.join(sorted(CURRENCIES))})"
        )

    raw_day = record["valid_from"].strip()
    valid_from: date | None = None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw_day):
            raise ValueError
        valid_from = date.fromisoformat(raw_day)
    except ValueError:
        problems.append(f"{at} valid_from {raw_day!r} is not a date (YYYY-MM-DD)")
    if valid_from is not None and valid_from < EARLIEST:
        problems.append(f"{at} valid_from {raw_day} is before {EARLIEST}")

    if problems or cost is None or valid_from is None:
        return None, problems
    return UnitCost(line_number, sku, cost, currency, valid_from), []
