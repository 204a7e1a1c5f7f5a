"""Checks a seller's unit-cost CSV row by row; a file with any bad row is refused as a whole.

The file has a header with exactly these columns, in any order: `sku`, `unit_cost` (or `cost`), `currency`,
`valid_from` (YYYY-MM-DD). Rows arrive one at a time from orchestration/csv_input.py (which bounds the file's
size, rows, lines and fields and refuses what is not UTF-8 text) and leave one at a time, so a file of any
size is checked in flat memory. Every problem is reported with its line and column, the first MAX_PROBLEMS of
them in full, so the seller can fix the file in one go. A SKU given twice for the same currency and day is
found by the import (costs/store.py), in the warehouse, not here: remembering every row would not be flat.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from orchestration.csv_input import quoted, text_records
from orchestration.errors import RetkeeError
from orchestration.extract.marketplaces import CURRENCIES as MARKETPLACE_CURRENCIES

REQUIRED = ("sku", "unit_cost", "currency", "valid_from")
ALIASES = {"cost": "unit_cost"}
# The currencies of Amazon's marketplaces: a cost in any other currency could never meet a sale.
CURRENCIES = MARKETPLACE_CURRENCIES
MAX_SKU_LENGTH = 40  # Amazon's limit for a seller SKU
MAX_UNIT_COST = Decimal("9999999999.9999")  # numeric(14,4)
EARLIEST = date(2000, 1, 1)
MAX_PROBLEMS = 50  # shown in full; the rest are counted
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class UnitCost:
    line_number: int
    sku: str
    unit_cost: Decimal
    currency: str
    valid_from: date


class CostFileError(RetkeeError, ValueError):
    """The file cannot be imported; `problems` lists the first bad lines, `more` counts the others."""

    def __init__(self, problems: list[str], more: int = 0) -> None:
        self.problems = problems
        self.more = more
        tail = f"\n  ... and {more} more" if more else ""
        super().__init__(
            f"{len(problems) + more} problem(s); nothing was imported:\n  " + "\n  ".join(problems) + tail
        )


class _Problems:
    """Problems as they are found, the first MAX_PROBLEMS kept word for word, the rest counted."""

    def __init__(self) -> None:
        self.shown: list[str] = []
        self.more = 0

    def add(self, problem: str) -> None:
        if len(self.shown) < MAX_PROBLEMS:
            self.shown.append(problem)
        else:
            self.more += 1

    def __bool__(self) -> bool:
        return bool(self.shown)

    def error(self) -> CostFileError:
        return CostFileError(self.shown, self.more)


def check_unit_costs(records: Iterable[tuple[int, list[str]]]) -> Iterator[UnitCost]:
    """Each good row as a UnitCost, as it is read; at the end, CostFileError if any row was bad.

    A caller that stores rows as they come must do so in a transaction it rolls back on that error (store.py).
    """
    records = iter(records)
    line, header = next(records, (1, None))
    if header is None or not any(h.strip() for h in header):
        raise CostFileError([f"line {line}: the file is empty; expected a header: " + ",".join(REQUIRED)])
    names = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in header]
    problems = _Problems()
    missing = [c for c in REQUIRED if c not in names]
    unknown = [quoted(h, 40) for h, n in zip(header, names, strict=True) if n not in REQUIRED]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if missing:
        problems.add(f"line {line}: missing column(s): {', '.join(missing)}")
    if unknown:
        problems.add(f"line {line}: unknown column(s): {', '.join(unknown[:10])}")
    if duplicated:
        problems.add(f"line {line}: repeated column(s): {', '.join(duplicated)}")
    if problems:
        raise problems.error()

    rows = 0
    for line_number, fields in records:
        if not any(f.strip() for f in fields):
            continue  # blank lines are harmless
        if len(fields) != len(names):
            problems.add(f"line {line_number}: expected {len(names)} fields, found {len(fields)}")
            continue
        row = _check_row(line_number, dict(zip(names, fields, strict=True)), problems)
        if row is not None and not problems:
            rows += 1
            yield row
    if problems:
        raise problems.error()
    if not rows:
        raise CostFileError(["the file has a header but no rows"])


def parse_unit_costs(text: str) -> list[UnitCost]:
    """Every row of a small file held as text (samples, tests), or CostFileError."""
    return list(check_unit_costs(text_records(text)))


def _check_row(line_number: int, record: dict[str, str], problems: _Problems) -> UnitCost | None:
    at = f"line {line_number}:"
    found = len(problems.shown) + problems.more
    sku = record["sku"].strip()
    if not sku:
        problems.add(f"{at} sku is empty")
    elif len(sku) > MAX_SKU_LENGTH:
        problems.add(f"{at} sku {quoted(sku, MAX_SKU_LENGTH)} is longer than {MAX_SKU_LENGTH} characters")
    elif _CONTROL.search(sku):
        problems.add(f"{at} sku contains control characters")

    raw_cost = record["unit_cost"].strip()
    cost: Decimal | None = None
    try:
        cost = Decimal(raw_cost)
    except InvalidOperation:
        problems.add(f"{at} unit_cost {quoted(raw_cost)} is not a number (use a dot for decimals: 12.50)")
    if cost is not None:
        if not cost.is_finite():
            problems.add(f"{at} unit_cost {quoted(raw_cost)} is not a finite number")
            cost = None
        elif cost < 0:
            problems.add(f"{at} unit_cost {quoted(raw_cost)} is negative")
        elif cost > MAX_UNIT_COST:
            problems.add(f"{at} unit_cost {quoted(raw_cost)} is too large")
        elif cost.as_tuple().exponent < -4:
            problems.add(f"{at} unit_cost {quoted(raw_cost)} has more than 4 decimals")

    currency = record["currency"].strip().upper()
    if currency not in CURRENCIES:
        problems.add(f"{at} currency {quoted(record['currency'].strip())} is not a marketplace currency "
                     f"({', '.join(sorted(CURRENCIES))})")

    raw_day = record["valid_from"].strip()
    valid_from: date | None = None
    try:
        if not _DAY.fullmatch(raw_day):
            raise ValueError
        valid_from = date.fromisoformat(raw_day)
    except ValueError:
        problems.add(f"{at} valid_from {quoted(raw_day)} is not a date (YYYY-MM-DD)")
    if valid_from is not None and valid_from < EARLIEST:
        problems.add(f"{at} valid_from {raw_day} is before {EARLIEST}")

    if len(problems.shown) + problems.more > found or cost is None or valid_from is None:
        return None
    return UnitCost(line_number, sku, cost, currency, valid_from)
