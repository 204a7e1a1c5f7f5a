"""FBA reports made from the world's one truth: storage fees, reimbursements, customer returns, the ledger.

Each row comes from what the money world posts or the inventory holds, so the reports agree with the Finances
APIs to the cent: the storage-fee report of a month is the storage bill that month's postings charge (per
FNSKU, split over one or two fulfilment centres; the fee before VAT), the reimbursements report lists the
reimbursements and clawbacks the Finances APIs post, customer returns are the refunded FBA items, and the
inventory ledger's balances are the inventory positions (receipts = ending - starting + units shipped).
docs/sandbox.md ("FBA reports") describes the contract for readers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from .. import marketplaces
from . import inventory as _inventory
from .catalogue import SellerProfile, Sku
from .finances import MoneyRules, item_events
from .money import (
    CUBIC_FOOT_CM3,
    StorageCharges,
    _money,
    _reimbursements,
    storage_charge_day,
    storage_charges,
)
from .orders import day_items
from .rng import alnum, digits, stream

UTC = dt.UTC
DAY = dt.timedelta(days=1)
INCH_CM = Decimal("2.54")
POUND_KG = Decimal("0.45359237")
FULFILMENT_CENTRES = {
    "NA": ("PHX6", "SEA8", "BFI4", "ONT8"),
    "EU": ("LEJ1", "MUC3", "BHX4", "CDG7", "MXP5", "MAD4"),
    "FE": ("NRT1", "KIX2"),
}
# Amazon's reimbursement report names the reason in its own words, not the Finances breakdown's.
REIMBURSEMENT_REASONS = {"WAREHOUSE_DAMAGE": "Damaged_Warehouse", "WAREHOUSE_LOST": "Lost_Warehouse"}
REVERSAL_REASON = "Reimbursement_Reversal"
RETURN_REASONS = ("UNWANTED_ITEM", "DEFECTIVE", "NOT_AS_DESCRIBED", "ORDERED_WRONG_ITEM", "DAMAGED_BY_CARRIER")
RETURN_DISPOSITIONS = (("SELLABLE", 70), ("CUSTOMER_DAMAGED", 15), ("DEFECTIVE", 10), ("CARRIER_DAMAGED", 5))
RETURN_STATUS = "Unit returned to inventory"
# Free text a buyer wrote: some of it names the buyer (invented here). The pipeline must never land it.
CUSTOMER_COMMENTS = (
    "Did not fit, sending back.",
    "Arrived scratched on one side.",
    "Wrong colour, please refund. Call me on 555-0147, Dana Whitfield",
    "Changed my mind.",
    "Stopped working after two days - contact dana.whitfield@example.com",
    "Ordered two by mistake.",
)
LEDGER_PERIODS = ("DAILY", "WEEKLY", "MONTHLY")
LEDGER_LOCATIONS = ("COUNTRY",)


def _centres(mkt: marketplaces.Marketplace) -> tuple[str, ...]:
    return FULFILMENT_CENTRES.get(mkt.region, FULFILMENT_CENTRES["NA"])


def _months(start: dt.datetime, end: dt.datetime) -> Iterator[dt.date]:
    """First days of the months that overlap [start, end)."""
    month = start.date().replace(day=1)
    while dt.datetime.combine(month, dt.time(), tzinfo=UTC) < end:
        yield month
        month = (month + dt.timedelta(days=32)).replace(day=1)


def _dimensions(item: Sku, us: bool) -> dict:
    sides = sorted((item.length_cm, item.width_cm, item.height_cm), reverse=True)
    volume_cm3 = item.length_cm * item.width_cm * item.height_cm
    if us:
        return {
            "sides": [(s / INCH_CM).quantize(Decimal("0.01")) for s in sides],
            "measurement_units": "inches",
            "weight": (item.weight_kg / POUND_KG).quantize(Decimal("0.01")),
            "weight_units": "pounds",
            "item_volume": (volume_cm3 / CUBIC_FOOT_CM3).quantize(Decimal("0.0001")),
            "volume_units": "cubic feet",
        }
    return {
        "sides": [s.quantize(Decimal("0.01")) for s in sides],
        "measurement_units": "centimeters",
        "weight": item.weight_kg.quantize(Decimal("0.01")),
        "weight_units": "kilograms",
        "item_volume": volume_cm3.quantize(Decimal("0.01")),
        "volume_units": "cubic centimeters",
    }


def storage_fee_rows(
    rules: MoneyRules, marketplace_id: str, start: dt.datetime, end: dt.datetime, as_of: dt.datetime
) -> Iterator[dict]:
    """GET_FBA_STORAGE_FEE_CHARGES_DATA rows of the months overlapping [start, end) whose storage is charged by
    ``as_of``: per FNSKU and fulfilment centre; ``estimated_monthly_storage_fee`` sums, per month, to the storage
    postings' amount before VAT, to the cent."""
    mkt = marketplaces.get(marketplace_id)
    for month in _months(start, end):
        if dt.datetime.combine(storage_charge_day(rules, mkt, month), dt.time(10), tzinfo=UTC) > as_of:
            continue
        yield from _storage_month_rows(rules, mkt, storage_charges(rules, mkt, month))


def _storage_month_rows(rules: MoneyRules, mkt: marketplaces.Marketplace, charges: StorageCharges) -> Iterator[dict]:
    us = mkt.country == "US"
    rate = _money(charges.rate_usd * mkt.fx_from_usd, mkt)  # per cubic foot, in the marketplace currency
    for line in charges.storage:
        item, fee, units = line.sku, -line.base, line.quantity
        dims = _dimensions(item, us)
        rng = stream(rules.seed, rules.profile.seller_id, mkt.marketplace_id, "storage-centres",
                     charges.month_start.isoformat(), item.fnsku)
        centres = rng.sample(_centres(mkt), 2)
        first_units = round(units * rng.uniform(0.4, 0.8)) if units > 1 and rng.random() < 0.5 else units
        split = [(centres[0], first_units), (centres[1], units - first_units)]
        left = fee
        for index, (centre, quantity) in enumerate(part for part in split if part[1] > 0):
            share = left if index == 1 or quantity == units else _money(fee * quantity / units, mkt)
            left -= share
            longest, median, shortest = dims["sides"]
            yield {
                "asin": item.asin,
                "fnsku": item.fnsku,
                "product_name": item.local_name(mkt.marketplace_id),
                "fulfillment_center": centre,
                "country_code": mkt.country,
                "longest_side": longest,
                "median_side": median,
                "shortest_side": shortest,
                "measurement_units": dims["measurement_units"],
                "weight": dims["weight"],
                "weight_units": dims["weight_units"],
                "item_volume": dims["item_volume"],
                "volume_units": dims["volume_units"],
                "product_size_tier": "Standard" if item.weight_kg < Decimal(9) else "Oversize",
                "average_quantity_on_hand": quantity,
                "average_quantity_pending_removal": 0,
                "estimated_total_item_volume": (dims["item_volume"] * quantity).quantize(dims["item_volume"]),
                "month_of_charge": f"{charges.month_start:%Y-%m}",
                "storage_rate": rate,
                "currency": mkt.currency,
                "estimated_monthly_storage_fee": share,
                "dangerous_goods_storage_type": "--",
                "eligible_for_inventory_discount": "No",
                "qualifies_for_inventory_discount": "No",
                "total_incentive_fee_amount": _money(Decimal(0), mkt),
                "breakdown_incentive_fee_amount": "",
                "average_quantity_customer_orders": 0,
                "base_rate": rate,
                "storage_utilization_ratio": "",
                "storage_utilization_ratio_units": "",
                "utilization_surcharge_rate": _money(Decimal(0), mkt),
            }


def _utc_days(start: dt.datetime, end: dt.datetime) -> Iterator[dt.date]:
    day = start.date()
    while dt.datetime.combine(day, dt.time(), tzinfo=UTC) < end:
        yield day
        day += DAY


def reimbursement_id(rules: MoneyRules, case_id: str, reversal: bool = False) -> str:
    return digits(stream(rules.seed, rules.profile.seller_id, "reimbursement-id", case_id, reversal), 10)


def reimbursement_rows(
    rules: MoneyRules, marketplace_id: str, start: dt.datetime, end: dt.datetime, as_of: dt.datetime
) -> Iterator[dict]:
    """GET_FBA_REIMBURSEMENTS_DATA rows approved in [start, end) and by ``as_of``: each reimbursement and each
    clawback (a reversal row, negative) the Finances APIs post, with the same amount."""
    mkt = marketplaces.get(marketplace_id)
    for day in _utc_days(start, end):
        for ev in _reimbursements(rules, mkt, day):
            if not (start <= ev.posted < end and ev.posted <= as_of):
                continue
            line = ev.lines[0]
            reversal = ev.kind == "clawback"
            quantity = -line.quantity if reversal else line.quantity
            original_reason = "Lost_Warehouse"  # only "lost" units are found again and clawed back
            yield {
                "approval-date": ev.posted,
                "reimbursement-id": reimbursement_id(rules, ev.reference, reversal),
                "case-id": ev.reference,
                "amazon-order-id": "",
                "reason": REVERSAL_REASON if reversal else REIMBURSEMENT_REASONS[line.component],
                "sku": line.sku.sku,
                "fnsku": line.sku.fnsku,
                "asin": line.sku.asin,
                "product-name": line.sku.local_name(marketplace_id),
                "condition": "NewItem",
                "currency-unit": mkt.currency,
                "amount-per-unit": _money(abs(line.amount) / line.quantity, mkt),
                "amount-total": line.amount,
                "quantity-reimbursed-cash": quantity,
                "quantity-reimbursed-inventory": 0,
                "quantity-reimbursed-total": quantity,
                "original-reimbursement-id": reimbursement_id(rules, ev.reference) if reversal else "",
                "original-reimbursement-type": original_reason if reversal else "",
            }


def customer_return_rows(
    seed: int, profile: SellerProfile, marketplace_id: str, start: dt.datetime, end: dt.datetime,
    as_of: dt.datetime, rules: MoneyRules | None,
) -> Iterator[dict]:
    """GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA rows: every FBA item refunded in [start, end) and by
    ``as_of`` comes back to the fulfilment centre that shipped it, dated when the refund posts."""
    rows = []
    # A refund posts 3-40 days after shipping: look back far enough for the orders it reverses.
    for day in _utc_days(start - dt.timedelta(days=45), end):
        for item in day_items(seed, profile, marketplace_id, day):
            if item.fulfillment != "AFN" or item.cancelled:
                continue
            for ev in item_events(item, rules, False):
                if ev.kind != "Refund" or not (start <= ev.posted < end and ev.posted <= as_of):
                    continue
                rng = stream(seed, profile.seller_id, "customer-return", item.order_item_id)
                disposition = rng.choices([d for d, _ in RETURN_DISPOSITIONS],
                                          weights=[w for _, w in RETURN_DISPOSITIONS])[0]
                rows.append({
                    "return-date": ev.posted,
                    "order-id": item.amazon_order_id,
                    "sku": item.sku.sku,
                    "asin": item.sku.asin,
                    "fnsku": item.sku.fnsku,
                    "product-name": item.sku.local_name(marketplace_id),
                    "quantity": item.quantity,
                    "fulfillment-center-id": item.fulfillment_center_id,
                    "detailed-disposition": disposition,
                    "reason": rng.choice(RETURN_REASONS),
                    "status": RETURN_STATUS,
                    "license-plate-number": "LPN" + alnum(rng, 10),
                    "customer-comments": rng.choice(CUSTOMER_COMMENTS) if rng.random() < 0.4 else "",
                })
    rows.sort(key=lambda r: (r["return-date"], r["order-id"], r["sku"]))
    yield from rows


def _ledger_periods(start: dt.datetime, end: dt.datetime, period: str) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """Whole periods (days, Sunday-to-Saturday weeks, months) that start in [start, end)."""
    moment = dt.datetime.combine(start.date(), dt.time(), tzinfo=UTC)
    while moment < end:
        if period == "DAILY":
            following = moment + DAY
        elif period == "WEEKLY":
            following = moment + DAY * (7 - (moment.weekday() + 1) % 7)
        else:
            following = dt.datetime.combine((moment.date() + dt.timedelta(days=32)).replace(day=1), dt.time(),
                                            tzinfo=UTC)
        yield moment, following
        moment = following


def ledger_date(moment: dt.datetime, period: str) -> str:
    """The ledger's `Date`: MM/DD/YYYY for a day or a week (its first day), MM/YYYY for a month."""
    return moment.strftime("%m/%Y" if period == "MONTHLY" else "%m/%d/%Y")


def ledger_summary_rows(
    seed: int, profile: SellerProfile, marketplace_id: str, start: dt.datetime, end: dt.datetime,
    as_of: dt.datetime, period: str = "DAILY",
) -> Iterator[dict]:
    """GET_LEDGER_SUMMARY_VIEW_DATA rows per period that has ended by ``as_of`` and FNSKU (sellable units, by
    country): starting and ending warehouse balance are the inventory positions at the period's bounds, customer
    shipments the AFN units shipped (negative), receipts what arrived (ending - starting + shipped)."""
    mkt = marketplaces.get(marketplace_id)
    for lo, hi in _ledger_periods(start, end, period):
        if hi > as_of:
            break
        before = {p.sku.sku: p for p in _inventory.positions(seed, profile, marketplace_id, lo)}
        after = {p.sku.sku: p for p in _inventory.positions(seed, profile, marketplace_id, hi)}
        shipped = _inventory.units_shipped(seed, profile, marketplace_id, lo, hi)
        for sku in sorted(before.keys() | after.keys()):
            position = after.get(sku) or before[sku]
            starting = before[sku].warehouse if sku in before else 0
            ending = after[sku].warehouse if sku in after else 0
            out = shipped.get(sku, 0)
            if not (starting or ending or out):
                continue
            yield {
                "Date": ledger_date(lo, period),
                "FNSKU": position.sku.fnsku,
                "ASIN": position.sku.asin,
                "MSKU": sku,
                "Title": position.sku.local_name(marketplace_id),
                "Disposition": "SELLABLE",
                "Starting Warehouse Balance": starting,
                "In Transit Between Warehouses": 0,
                "Receipts": ending - starting + out,
                "Customer Shipments": -out,
                "Customer Returns": 0,
                "Vendor Returns": 0,
                "Warehouse Transfer In/Out": 0,
                "Found": 0,
                "Lost": 0,
                "Damaged": 0,
                "Disposed": 0,
                "Other Events": 0,
                "Ending Warehouse Balance": ending,
                "Unknown Events": 0,
                "Location": mkt.country,
            }
