"""Report documents rendered from the world as streams of tab-separated lines, then gzip-compressed.

A document depends only on (seed, seller, report type, marketplaces, data range, cut-off moment) and the
content faults baked into its report, so the same request always yields byte-identical gzip output (zlib
writes mtime 0 and no file name).
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from .. import marketplaces
from ..report_columns import (
    ALL_ORDERS,
    AMAZON_FULFILLED_SHIPMENTS,
    FBA_CUSTOMER_RETURNS,
    FBA_ESTIMATED_FEES,
    FBA_MYI_UNSUPPRESSED,
    FBA_REIMBURSEMENTS,
    FBA_STORAGE_FEE_CHARGES,
    LEDGER_SUMMARY,
    MERCHANT_LISTINGS_ALL,
    SETTLEMENT_V2,
)
from ..world import AccountEvent, InventoryPosition, MoneyEvent, World, to_utc
from ..world.fba_reports import LEDGER_LOCATIONS, LEDGER_PERIODS
from ..world.money import COMPONENTS, settlement_labels
from .content_faults import apply_content_faults

ORDERS_BY_DATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
SETTLEMENT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
FBA_MYI = "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"
LISTINGS_ALL = "GET_MERCHANT_LISTINGS_ALL_DATA"
FBA_FEES = "GET_FBA_ESTIMATED_FBA_FEES_TXT_DATA"
SALES_AND_TRAFFIC = "GET_SALES_AND_TRAFFIC_REPORT"
FULFILLED_SHIPMENTS = "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL"
STORAGE_FEES = "GET_FBA_STORAGE_FEE_CHARGES_DATA"
REIMBURSEMENTS = "GET_FBA_REIMBURSEMENTS_DATA"
CUSTOMER_RETURNS = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"
LEDGER_SUMMARY_VIEW = "GET_LEDGER_SUMMARY_VIEW_DATA"
# Amazon: at most 30 days per All Orders report; a longer range is accepted by createReport and then fails
# with this message in its document (selling-partner-api-models issue 2591).
ORDERS_MAX_RANGE = dt.timedelta(days=30)
ORDERS_RANGE_EXCEEDED = "Date range exceeded. Report can be requested only upto 30 days"
SHIPMENTS_MAX_RANGE = dt.timedelta(days=31)  # Amazon: at most one month per shipments report
SALES_AND_TRAFFIC_HISTORY = dt.timedelta(days=730)  # Amazon: at most two years back
DATE_GRANULARITIES = ("DAY", "WEEK", "MONTH")
ASIN_GRANULARITIES = ("PARENT", "CHILD", "SKU")
_CHARGE_DESCRIPTIONS = {"ShippingCharge": "Shipping"}


def cell(value) -> str:
    """A typed value as Amazon writes it in a flat file."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="seconds")
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value).replace("\t", " ").replace("\n", " ")


@dataclass(frozen=True)
class ReportKind:
    report_type: str
    header: tuple[str, ...] | None  # None for JSON documents
    rows: Callable[[World, dict], Iterator[dict]]  # typed rows keyed by column (JSON: one row, the document)
    creatable: bool = True
    default_days: int = 30  # data range when createReport gives no dataStartTime
    charset_of: Callable[[dict], str] | None = None  # default UTF-8
    # Amazon's generation limits: the errorDetails of a FATAL outcome, or None when the request is fine.
    limit: Callable[[dict], str | None] | None = None
    max_marketplaces: int = 25
    options: dict[str, tuple[str, ...]] | None = None  # allowed reportOptions values

    def charset(self, report: dict) -> str:
        return self.charset_of(report) if self.charset_of else "UTF-8"

    def has_data(self, world: World, report: dict) -> bool:
        return next(iter(self.rows(world, report)), None) is not None


def report_window(report: dict) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    """(data start, data end, cut-off): the moment the report was made bounds both the data and statuses."""
    cutoff = to_utc(report["createdTime"])
    return to_utc(report["dataStartTime"]), min(to_utc(report["dataEndTime"]), cutoff), cutoff


def _order_rows(world: World, report: dict) -> Iterator[dict]:
    start, end, cutoff = report_window(report)
    yield from world.order_items(report["sellerId"], start, end, report["marketplaceIds"], as_of=cutoff)


def settlement_time(moment: dt.datetime) -> str:
    """Settlement flat files write moments as ``2026-11-10 00:00:00 UTC``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


SETTLEMENT_ORDER_TYPES = {
    "Order": "Order",
    "Refund": "Refund",
    "Chargeback": "Chargeback Refund",
    "GuaranteeClaim": "A-to-z Guarantee Refund",
}


def _orders_limit(report: dict) -> str | None:
    if to_utc(report["dataEndTime"]) - to_utc(report["dataStartTime"]) > ORDERS_MAX_RANGE:
        return ORDERS_RANGE_EXCEEDED
    return None


def _settlement_rows(world: World, report: dict) -> Iterator[dict]:
    """The summary row, then one row per amount of every posting in the period (reserves included)."""
    info = report["settlement"]
    start, end, mkt = to_utc(info["start"]), to_utc(info["end"]), info["marketplaceId"]
    postings = list(world.all_money(report["sellerId"], start, end, [mkt]))
    labels = settlement_labels(world.seed, world.profile(report["sellerId"]))
    currency = marketplaces.get(mkt).currency
    total = sum((ev.total() for ev in postings), Decimal(0))
    yield {
        "settlement-id": info["settlementId"],
        "settlement-start-date": settlement_time(start),
        "settlement-end-date": settlement_time(end),
        "deposit-date": settlement_time(end + dt.timedelta(days=2)),
        "total-amount": total,
        "currency": currency,
    }
    for ev in postings:
        if isinstance(ev, AccountEvent):
            yield from _account_settlement_rows(info["settlementId"], ev, labels)
        else:
            yield from _order_settlement_rows(info["settlementId"], ev)


def _order_settlement_rows(settlement_id: str, ev: MoneyEvent) -> Iterator[dict]:
    it = ev.item
    common = {
        "settlement-id": settlement_id,
        "transaction-type": SETTLEMENT_ORDER_TYPES[ev.kind],
        "order-id": it.amazon_order_id,
        "merchant-order-id": it.merchant_order_id,
        "adjustment-id": ev.adjustment_id,
        "shipment-id": it.shipment_id,
        "marketplace-name": it.sales_channel,
        "fulfillment-id": it.fulfillment,
        "posted-date": ev.posted.date().isoformat(),
        "posted-date-time": settlement_time(ev.posted),
        "order-item-code": it.order_item_id,
        "sku": it.sku.sku,
    }
    for charge, amount in ev.charges:
        quantity = it.quantity if ev.kind == "Order" and charge == "Principal" else None
        yield {
            **common,
            "amount-type": "ItemPrice",
            "amount-description": _CHARGE_DESCRIPTIONS.get(charge, charge),
            "amount": amount,
            "quantity-purchased": quantity,
        }
    for promotion, amount in ev.promotions:
        yield {
            **common,
            "amount-type": "Promotion",
            "amount-description": "Shipping" if promotion == "FreeShipping" else "Principal",
            "amount": amount,
        }
    for fee, amount in ev.fees:
        yield {**common, "amount-type": "ItemFees", "amount-description": fee, "amount": amount}


def _account_settlement_rows(settlement_id: str, ev: AccountEvent, labels: str) -> Iterator[dict]:
    """Rows of a posting that is not an order's, labelled by COMPONENTS in the seller's label format."""
    reference = ev.reference if ev.kind in ("inbound_placement", "removal", "disposal") else ""
    case = ev.reference if ev.kind in ("reimbursement", "clawback") else ""
    common = {
        "settlement-id": settlement_id,
        "order-id": reference,
        "adjustment-id": case,
        "shipment-id": ev.reference if ev.kind == "inbound_placement" else "",
        "marketplace-name": marketplaces.get(ev.marketplace_id).sales_channel,
        "posted-date": ev.posted.date().isoformat(),
        "posted-date-time": settlement_time(ev.posted),
    }
    for line in ev.lines:
        extra = {"sku": line.sku.sku, "fulfillment-id": "AFN"} if line.sku is not None else {}
        for transaction_type, amount_type, description, amount in COMPONENTS[line.component].settlement_rows(
            line.base, line.tax, labels
        ):
            yield {
                **common,
                **extra,
                "transaction-type": transaction_type,
                "amount-type": amount_type,
                "amount-description": description,
                "amount": amount,
            }


def _myi_rows(world: World, report: dict) -> Iterator[dict]:
    """A snapshot at the report's creation, the same numbers the Inventory API gives at that moment."""
    _, _, cutoff = report_window(report)
    for mkt in report["marketplaceIds"]:
        prices = {r["sku"]: r["your-price"] for r in world.estimated_fees(report["sellerId"], mkt, cutoff)}
        for p in world.inventory(report["sellerId"], mkt, cutoff):
            yield myi_row(p, prices.get(p.sku.sku))


def myi_row(p: InventoryPosition, price: Decimal | None) -> dict:
    volume_cm3 = p.sku.length_cm * p.sku.width_cm * p.sku.height_cm
    us = marketplaces.get(p.marketplace_id).country == "US"
    return {
        "sku": p.sku.sku,
        "fnsku": p.sku.fnsku,
        "asin": p.sku.asin,
        "product-name": p.sku.local_name(p.marketplace_id),
        "condition": "New",
        "your-price": price,
        "mfn-listing-exists": "No",
        "mfn-fulfillable-quantity": None,
        "afn-listing-exists": "Yes",
        "afn-warehouse-quantity": p.warehouse,
        "afn-fulfillable-quantity": p.fulfillable,
        "afn-unsellable-quantity": p.unfulfillable_total,
        "afn-reserved-quantity": p.reserved,
        "afn-total-quantity": p.total,
        # cubic feet in the US, cubic centimetres elsewhere
        "per-unit-volume": (volume_cm3 / Decimal("28316.8466")).quantize(Decimal("0.01"))
        if us
        else volume_cm3.quantize(Decimal("1")),
        "afn-inbound-working-quantity": p.inbound_working,
        "afn-inbound-shipped-quantity": p.inbound_shipped,
        "afn-inbound-receiving-quantity": p.inbound_receiving,
        "afn-researching-quantity": p.researching_total,
        "afn-reserved-future-supply": 0,
        "afn-future-supply-buyable": 0,
    }


def _listing_rows(world: World, report: dict) -> Iterator[dict]:
    _, _, cutoff = report_window(report)
    for mkt in report["marketplaceIds"]:
        yield from world.listings(report["sellerId"], mkt, cutoff)


def _fee_rows(world: World, report: dict) -> Iterator[dict]:
    _, _, cutoff = report_window(report)
    for mkt in report["marketplaceIds"]:
        yield from world.estimated_fees(report["sellerId"], mkt, cutoff)


def _shipment_rows(world: World, report: dict) -> Iterator[dict]:
    start, end, cutoff = report_window(report)
    yield from world.fulfilled_shipments(report["sellerId"], start, end, report["marketplaceIds"], as_of=cutoff)


def _shipments_limit(report: dict) -> str | None:
    if to_utc(report["dataEndTime"]) - to_utc(report["dataStartTime"]) > SHIPMENTS_MAX_RANGE:
        return "The requested date range exceeds the maximum allowed range of 1 month for this report type."
    return None


def _per_marketplace(rows_of: Callable) -> Callable[[World, dict], Iterator[dict]]:
    """Rows of a report made per marketplace in [start, end) by the report's creation, marketplace by marketplace."""

    def rows(world: World, report: dict) -> Iterator[dict]:
        start, end, cutoff = report_window(report)
        for mkt in report["marketplaceIds"]:
            yield from rows_of(world, report, mkt, start, end, cutoff)

    return rows


def _ledger_rows(world: World, report: dict, mkt: str, start, end, cutoff) -> list[dict]:
    period = (report.get("reportOptions") or {}).get("aggregatedByTimePeriod", "DAILY")
    return world.ledger_summary(report["sellerId"], mkt, start, end, as_of=cutoff, period=period)


def sales_and_traffic_options(report: dict) -> tuple[str, str]:
    options = report.get("reportOptions") or {}
    return options.get("dateGranularity", "DAY"), options.get("asinGranularity", "PARENT")


def _sales_and_traffic_rows(world: World, report: dict) -> Iterator[dict]:
    """One row: the whole JSON document (an empty range has no dates: the report is CANCELLED)."""
    start, end, cutoff = report_window(report)
    mkt = report["marketplaceIds"][0]
    date_granularity, asin_granularity = sales_and_traffic_options(report)
    body = world.sales_and_traffic(
        report["sellerId"], mkt, start, end, date_granularity, asin_granularity, as_of=cutoff
    )
    if not body["salesAndTrafficByDate"]:
        return
    spec = {
        "reportType": SALES_AND_TRAFFIC,
        "reportOptions": {"dateGranularity": date_granularity, "asinGranularity": asin_granularity},
        "dataStartTime": start.date().isoformat(),
        "dataEndTime": (end - dt.timedelta(microseconds=1)).date().isoformat(),
        "marketplaceIds": [mkt],
    }
    yield {"reportSpecification": spec, **body}


def _sales_and_traffic_limit(report: dict) -> str | None:
    if to_utc(report["dataStartTime"]) < to_utc(report["createdTime"]) - SALES_AND_TRAFFIC_HISTORY:
        return "The requested dataStartTime is more than 2 years in the past; data is available for 2 years."
    return None


KINDS: dict[str, ReportKind] = {
    ORDERS_BY_DATE: ReportKind(ORDERS_BY_DATE, tuple(ALL_ORDERS), _order_rows, limit=_orders_limit),
    SETTLEMENT: ReportKind(SETTLEMENT, tuple(SETTLEMENT_V2), _settlement_rows, creatable=False),
    FBA_MYI: ReportKind(FBA_MYI, tuple(FBA_MYI_UNSUPPRESSED), _myi_rows),
    LISTINGS_ALL: ReportKind(
        LISTINGS_ALL, tuple(MERCHANT_LISTINGS_ALL), _listing_rows, charset_of=lambda r: marketplace_charset(r)
    ),
    FBA_FEES: ReportKind(FBA_FEES, tuple(FBA_ESTIMATED_FEES), _fee_rows),
    FULFILLED_SHIPMENTS: ReportKind(
        FULFILLED_SHIPMENTS, tuple(AMAZON_FULFILLED_SHIPMENTS), _shipment_rows, limit=_shipments_limit
    ),
    STORAGE_FEES: ReportKind(
        STORAGE_FEES,
        tuple(FBA_STORAGE_FEE_CHARGES),
        _per_marketplace(lambda w, r, m, lo, hi, cut: w.storage_fees(r["sellerId"], m, lo, hi, as_of=cut)),
    ),
    REIMBURSEMENTS: ReportKind(
        REIMBURSEMENTS,
        tuple(FBA_REIMBURSEMENTS),
        _per_marketplace(lambda w, r, m, lo, hi, cut: w.reimbursements(r["sellerId"], m, lo, hi, as_of=cut)),
    ),
    CUSTOMER_RETURNS: ReportKind(
        CUSTOMER_RETURNS,
        tuple(FBA_CUSTOMER_RETURNS),
        _per_marketplace(lambda w, r, m, lo, hi, cut: w.customer_returns(r["sellerId"], m, lo, hi, as_of=cut)),
    ),
    LEDGER_SUMMARY_VIEW: ReportKind(
        LEDGER_SUMMARY_VIEW,
        tuple(LEDGER_SUMMARY),
        _per_marketplace(_ledger_rows),
        options={"aggregateByLocation": LEDGER_LOCATIONS, "aggregatedByTimePeriod": LEDGER_PERIODS},
    ),
    SALES_AND_TRAFFIC: ReportKind(
        SALES_AND_TRAFFIC,
        None,
        _sales_and_traffic_rows,
        limit=_sales_and_traffic_limit,
        max_marketplaces=1,
        options={"dateGranularity": DATE_GRANULARITIES, "asinGranularity": ASIN_GRANULARITIES},
    ),
}


def document_lines(
    kind: ReportKind, world: World, report: dict, content_faults: Iterable[str] = ()
) -> Iterator[str]:
    """The document's lines (each ending in a newline), with the report's content faults applied."""
    if kind.header is None:  # a JSON document: header-shaped faults do not apply
        for document in kind.rows(world, report):
            yield json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"
        return
    columns = tuple(kind.header)  # bound once: the generator below reads it lazily
    rows = ([cell(r.get(c)) for c in columns] for r in kind.rows(world, report))
    header, rows = apply_content_faults(list(columns), rows, list(content_faults), report["reportId"])
    yield "\t".join(header) + "\n"
    for row in rows:
        yield "\t".join(row) + "\n"


def encoded_chunks(lines: Iterable[str], charset: str, chunk_bytes: int = 64 * 1024) -> Iterator[bytes]:
    codec = "cp1252" if charset.lower() == "cp1252" else charset
    buf: list[bytes] = []
    size = 0
    for line in lines:
        data = line.encode(codec, errors="replace")
        buf.append(data)
        size += len(data)
        if size >= chunk_bytes:
            yield b"".join(buf)
            buf, size = [], 0
    if buf:
        yield b"".join(buf)


def gzip_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Gzip a byte stream deterministically, chunk by chunk, never holding the whole document."""
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    for chunk in chunks:
        out = comp.compress(chunk)
        if out:
            yield out
    yield comp.flush()


def marketplace_charset(report: dict) -> str:
    return "Cp1252" if any(marketplaces.get(m).is_eu for m in report["marketplaceIds"]) else "UTF-8"


def document_gzip(world: World, report: dict) -> Iterator[bytes]:
    """The gzip bytes of a DONE report's document, streamed."""
    kind = KINDS[report["reportType"]]
    lines = document_lines(kind, world, report, report.get("contentFaults", ()))
    return gzip_chunks(encoded_chunks(lines, report.get("charset") or kind.charset(report)))
