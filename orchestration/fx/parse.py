"""Reads an ECB euro reference-rate CSV (the layout of the ECB's eurofxref-hist.csv) and checks every row; a file
with any bad row is refused as a whole, each problem named by its line.

Layout: a header `Date` then one column per currency (ISO 4217), one row per publication day (YYYY-MM-DD), each
value the units of that currency one euro buys. `N/A` (or an empty field) means the ECB published no rate for that
currency that day. The ECB's file ends every line with a comma, i.e. an empty last column, which is ignored.
The file is read by orchestration/csv_input.py, with the same limits and encoding rules as every file the
command line takes; the ECB's whole history is a few thousand days, so the rates are then held in memory, and a
file with more days than MAX_DAYS is not an ECB file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from orchestration.csv_input import quoted, text_records
from orchestration.errors import RetkeeError

BASE_CURRENCY = "EUR"
MISSING = ("N/A", "")
MAX_RATE = Decimal("999999999999.999999")  # numeric(18,6)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The euro's reference rates start in 1999: a century of publication days is more than any real file holds.
MAX_DAYS = 36_600
MAX_PROBLEMS = 50  # shown in full; the rest are counted


@dataclass(frozen=True)
class FxRate:
    line_number: int
    rate_date: date
    currency: str
    rate_per_eur: Decimal  # units of `currency` for 1 EUR


class FxFileError(RetkeeError, ValueError):
    """The file cannot be imported; `problems` lists the first bad lines, `more` counts the others."""

    def __init__(self, problems: list[str], more: int = 0) -> None:
        self.problems = problems
        self.more = more
        tail = f"\n  ... and {more} more" if more else ""
        super().__init__(f"{len(problems) + more} problem(s); nothing was imported:\n  " + "\n  ".join(problems)
                         + tail)


def parse_ecb_rates(text: str) -> list[FxRate]:
    """Every published rate of a file held as text (samples, tests), or FxFileError."""
    return check_ecb_rates(text_records(text))


def check_ecb_rates(records: Iterable[tuple[int, list[str]]]) -> list[FxRate]:
    """Every published rate of the file's rows (csv_input.csv_records), or FxFileError with one message per bad
    line (the first MAX_PROBLEMS of them)."""
    records = iter(records)
    _, header = next(records, (1, None))
    if header is None or not any(h.strip() for h in header):
        raise FxFileError(["line 1: the file is empty; expected a header: Date,USD,JPY,..."])
    names = [h.strip().upper() for h in header]
    while names and names[-1] == "":
        names.pop()  # the ECB's trailing comma
    problems: list[str] = []
    if not names or names[0] != "DATE":
        problems.append("line 1: the first column must be Date")
    currencies = names[1:]
    for name in currencies:
        if not _CURRENCY.fullmatch(name):
            problems.append(f"line 1: column {quoted(name, 40)} is not an ISO 4217 currency code")
        elif name == BASE_CURRENCY:
            problems.append("line 1: rates are per 1 EUR, so EUR cannot be a column")
    repeated = sorted({n for n in currencies if currencies.count(n) > 1})
    if repeated:
        problems.append(f"line 1: repeated column(s): {', '.join(repeated)}")
    if not currencies:
        problems.append("line 1: no currency columns")
    if problems:
        raise FxFileError(problems[:MAX_PROBLEMS], more=max(0, len(problems) - MAX_PROBLEMS))

    rates: list[FxRate] = []
    seen: dict[date, int] = {}
    more = 0

    def problem(text: str) -> None:
        nonlocal more
        if len(problems) < MAX_PROBLEMS:
            problems.append(text)
        else:
            more += 1

    for line_number, fields in records:
        if not any(f.strip() for f in fields):
            continue
        while len(fields) > len(names) and fields[-1].strip() == "":
            fields = fields[:-1]
        at = f"line {line_number}:"
        if len(fields) != len(names):
            problem(f"{at} expected {len(names)} fields, found {len(fields)}")
            continue
        raw_day = fields[0].strip()
        try:
            if not _DAY.fullmatch(raw_day):
                raise ValueError
            day = date.fromisoformat(raw_day)
        except ValueError:
            problem(f"{at} Date {quoted(raw_day)} is not a date (YYYY-MM-DD)")
            continue
        if day in seen:
            problem(f"{at} {day} is already on line {seen[day]}")
            continue
        if len(seen) >= MAX_DAYS:
            raise FxFileError([f"{at} more than {MAX_DAYS:,} days of rates: this is not an ECB reference-rate "
                               "file"])
        seen[day] = line_number
        for currency, raw in zip(currencies, fields[1:], strict=True):
            value = raw.strip()
            if value.upper() in MISSING:
                continue
            try:
                rate = Decimal(value)
            except InvalidOperation:
                problem(f"{at} {currency} {quoted(value)} is not a number or N/A")
                continue
            if not rate.is_finite() or rate <= 0:
                problem(f"{at} {currency} {quoted(value)} is not a positive rate")
            elif rate > MAX_RATE or rate.as_tuple().exponent < -6:
                problem(f"{at} {currency} {quoted(value)} is out of range (at most 6 decimals)")
            elif not problems:
                rates.append(FxRate(line_number, day, currency, rate))
    if problems:
        raise FxFileError(problems, more)
    if not seen:
        raise FxFileError(["the file has a header but no rows"])
    if not rates:
        raise FxFileError(["the file has no rate: every value is N/A"])
    return rates
