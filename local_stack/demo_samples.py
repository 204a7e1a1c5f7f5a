"""Writes the demo's sample files in local_stack/demo_data/: each demo seller's unit costs and a table of euro
exchange rates in the ECB's layout, which `make run` imports through `retkee costs import` and `retkee fx import`.

The files are made from fixed inputs only (the sandbox's seed and the demo sellers' catalogues, fixed dates), so
running this again gives the same bytes; tests/unit/test_demo_samples.py fails when the shipped files and this
module differ. Run `python -m local_stack.demo_samples` after changing a demo seller or the sandbox catalogue.

The exchange rates are invented (a smooth drift around typical levels), not the ECB's: nothing is downloaded.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from local_stack.config import StackConfig
from local_stack.demo import DEMO_DATA, DEMO_SELLERS, FX_SAMPLE, DemoSeller, unit_costs_sample
from orchestration.extract.marketplaces import BY_ID
from spapi_sandbox.world.catalogue import SellerProfile, catalogue
from spapi_sandbox.world.orders import CATALOGUE_ANCHOR

# Costs are a share of the SKU's price in each currency, from the day the catalogue starts.
COST_SHARE = Decimal("0.35")
# Every third SKU is bought from a supplier who reprices weekly (on Mondays, through the end of 2027), so any
# 7 days of demo history contain a cost change for them.
WEEKLY_REPRICED_EVERY = 3
REPRICING_FROM = date(2026, 1, 5)  # a Monday
REPRICING_UNTIL = date(2027, 12, 27)
# Euro reference rates: units of each currency per 1 EUR, around these levels.
FX_LEVELS = {
    "USD": Decimal("1.0850"), "JPY": Decimal("161.20"), "GBP": Decimal("0.84500"), "PLN": Decimal("4.3100"),
    "SEK": Decimal("11.4200"), "TRY": Decimal("36.100"), "AUD": Decimal("1.6500"), "BRL": Decimal("6.1200"),
    "CAD": Decimal("1.4800"), "INR": Decimal("90.500"), "MXN": Decimal("19.800"), "SGD": Decimal("1.4500"),
    "ZAR": Decimal("19.900"),
}
FX_FROM = date(2025, 1, 1)
FX_UNTIL = date(2027, 12, 31)
# The ECB publishes on TARGET business days: not on weekends, New Year's Day, 1 May, 25 and 26 December (Easter
# is left out here for simplicity).
_CLOSED = {(1, 1), (5, 1), (12, 25), (12, 26)}
# Days the ECB left one currency N/A, as its file has some: the marts show those conversions as missing.
FX_NOT_AVAILABLE = {(date(2026, 3, 4), "INR"), (date(2027, 3, 3), "INR")}
SANDBOX_SEED = StackConfig.__dataclass_fields__["sandbox_seed"].default


def _money(value: Decimal, places: str = "0.01") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def unit_costs_file(seller: DemoSeller, seed: int = SANDBOX_SEED) -> str:
    """The seller's unit-cost CSV (`retkee costs import` layout): a cost per SKU and marketplace currency."""
    profile = SellerProfile.from_dict(seller.seller_id, seller.marketplace_ids, seller.profile)
    currencies = sorted({BY_ID[m].currency for m in seller.marketplace_ids})
    levels = {c: (FX_LEVELS.get(c, Decimal(1)) / FX_LEVELS["USD"]) for c in currencies}
    lines = ["sku,unit_cost,currency,valid_from"]
    for index, sku in enumerate(catalogue(seed, profile)):
        for currency in currencies:
            cost = _money(sku.base_price_usd * levels[currency] * COST_SHARE)
            lines.append(f"{sku.sku},{cost},{currency},{CATALOGUE_ANCHOR}")
            if index % WEEKLY_REPRICED_EVERY:
                continue
            monday, week = REPRICING_FROM, 0
            while monday <= REPRICING_UNTIL:
                # A few percent up and down around the base cost.
                factor = Decimal(1) + Decimal(str(round(0.04 * math.sin(week * 0.9 + index), 4)))
                lines.append(f"{sku.sku},{_money(cost * factor)},{currency},{monday}")
                monday, week = monday + timedelta(days=7), week + 1
    return "\n".join(lines) + "\n"


def fx_file() -> str:
    """Euro reference rates in the ECB's eurofxref-hist.csv layout: newest day first, a trailing comma."""
    currencies = list(FX_LEVELS)
    lines = ["Date," + ",".join(currencies) + ","]
    day = FX_UNTIL
    while day >= FX_FROM:
        if day.weekday() < 5 and (day.month, day.day) not in _CLOSED:
            t = (day - FX_FROM).days
            values = []
            for position, currency in enumerate(currencies):
                if (day, currency) in FX_NOT_AVAILABLE:
                    values.append("N/A")
                    continue
                drift = Decimal(str(round(0.03 * math.sin(t / 57 + position) + 0.01 * math.sin(t / 5.3), 6)))
                level = FX_LEVELS[currency]
                values.append(str(_money(level * (1 + drift), "0.0001" if level < 100 else "0.01")))
            lines.append(f"{day}," + ",".join(values) + ",")
        day -= timedelta(days=1)
    return "\n".join(lines) + "\n"


def samples() -> dict[Path, str]:
    """Every sample file of the demo and its content."""
    files = {unit_costs_sample(seller): unit_costs_file(seller) for seller in DEMO_SELLERS}
    files[FX_SAMPLE] = fx_file()
    return files


def write_samples() -> list[Path]:
    DEMO_DATA.mkdir(exist_ok=True)
    written = []
    for path, text in samples().items():
        path.write_text(text)
        written.append(path)
    return written


if __name__ == "__main__":
    for written in write_samples():
        print(written)
