"""Reads an ECB euro reference-rate CSV (the layout of the ECB's eurofxref-hist.csv) and checks every row; a file
with any bad row is refused as a whole, each problem named by its line.

Layout: a header `Date` then one column per currency (ISO 4217), one row per publication day (YYYY-MM-DD), each
value the units of that currency one euro buys. `N/A` (or an empty field) means the ECB published no rate for that
currency that day. The ECB's file ends every line with a comma, i.e. an empty last column, which is ignored.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

BASE_CURRENCY = "EUR"
MISSING = ("N/A", "")
MAX_RATE = Decimal("999999999999.999999")  # numeric(18,6)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class FxRate:
    line_number: int
    rate_date: date
    currency: str
    rate_per_eur: Decimal  # units of `currency` for 1 EUR


class FxFileError(ValueError):
    """The file cannot be imported; `problems` lists every bad line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:50]
        more = f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        super().__init__(f"{len(problems)} problem(s); nothing was imported:\n  " + "\n  ".join(shown) + more)


def parse_ecb_rates(text: str) -> list[FxRate]:
    """Every published rate of the file, or FxFileError with one message per bad line."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or not any(h.strip() for h in header):
        raise FxFileError(["line 1: the file is empty; expected a header: Date,USD,JPY,..."])
    names = [h.strip().upper() for h in header]
    while names and names[-1] == "":
        names.pop()  # the ECB's trailing comma
    problems = []
    if not names or names[0] != "DATE":
        problems.append("line 1: the first column must be Date")
    currencies = names[1:]
    for name in currencies:
        if not _CURRENCY.fullmatch(name):
            problems.append(f"line 1: column {name!r} is not an ISO 4217 currency code")
        elif name == BASE_CURRENCY:
            problems.append("line 1: rates are per 1 EUR, so EUR cannot be a column")
    repeated = sorted({n for n in currencies if currencies.count(n) > 1})
    if repeated:
        problems.append(f"line 1: repeated column(s): {', '.join(repeated)}")
    if not currencies:
        problems.append("line 1: no currency columns")
    if problems:
        raise FxFileError(problems)

    rates: list[FxRate] = []
    seen: dict[date, int] = {}
    for line_number, fields in enumerate(reader, start=2):
        if not any(f.strip() for f in fields):
            continue
        while len(fields) > len(names) and fields[-1].strip() == "":
            fields = fields[:-1]
        at = f"line {line_number}:"
        if len(fields) != len(names):
            problems.append(f"{at} expected {len(names)} fields, found {len(fields)}")
            continue
        raw_day = fields[0].strip()
        try:
            if not _DAY.fullmatch(raw_day):
                raise ValueError
            day = date.fromisoformat(raw_day)
        except ValueError:
            problems.append(f"{at} Date {raw_day!r} is not a date (YYYY-MM-DD)")
            continue
        if day in seen:
            problems.append(f"{at} {day} is already on line {seen[day]}")
            continue
        seen[day] = line_number
        for currency, raw in zip(currencies, fields[1:], strict=True):
            value = raw.strip()
            if value.upper() in MISSING:
                continue
            try:
                rate = Decimal(value)
            except InvalidOperation:
                problems.append(f"{at} {currency} {value!r} is not a number or N/A")
                continue
            if not rate.is_finite() or rate <= 0:
                problems.append(f"{at} {currency} {value!r} is not a positive rate")
            elif rate > MAX_RATE or rate.as_tuple().exponent < -6:
                problems.append(f"{at} {currency} {value!r} is out of range (at most 6 decimals)")
            else:
                rates.append(FxRate(line_number, day, currency, rate))
    if problems:
        raise FxFileError(problems)
    if not seen:
        raise FxFileError(["the file has a header but no rows"])
    if not rates:
        raise FxFileError(["the file has no rate: every value is N/A"])
    return rates
