"""Report documents rendered from the world as streams of tab-separated lines, then gzip-compressed.

A document depends only on (seed, seller, report type, marketplaces, data range, cut-off moment) and the
content faults baked into its report, so the same request always yields byte-identical gzip output (zlib
writes mtime 0 and no file name).
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from .. import marketplaces
from ..report_columns import ALL_ORDERS, SETTLEMENT_V2
from ..world import World, to_utc
from .content_faults import apply_content_faults

ORDERS_BY_DATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
SETTLEMENT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
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
    rows: Callable[[World, dict], Iterator[dict]]  # typed rows keyed by column
    creatable: bool = True
    default_days: int = 30  # data range when createReport gives no dataStartTime

    def charset(self, report: dict) -> str:
        return "UTF-8"

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


def _settlement_rows(world: World, report: dict) -> Iterator[dict]:
    info = report["settlement"]
    start, end, mkt = to_utc(info["start"]), to_utc(info["end"]), info["marketplaceId"]
    events = list(world.money_events(report["sellerId"], start, end, [mkt]))
    currency = marketplaces.get(mkt).currency
    total = sum((ev.total() for ev in events), Decimal(0))
    yield {
        "settlement-id": info["settlementId"],
        "settlement-start-date": settlement_time(start),
        "settlement-end-date": settlement_time(end),
        "deposit-date": settlement_time(end + dt.timedelta(days=2)),
        "total-amount": total,
        "currency": currency,
    }
    for ev in events:
        it = ev.item
        common = {
            "settlement-id": info["settlementId"],
            "transaction-type": ev.kind,
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


KINDS: dict[str, ReportKind] = {
    ORDERS_BY_DATE: ReportKind(ORDERS_BY_DATE, tuple(ALL_ORDERS), _order_rows),
    SETTLEMENT: ReportKind(SETTLEMENT, tuple(SETTLEMENT_V2), _settlement_rows, creatable=False),
}


def document_lines(
    kind: ReportKind, world: World, report: dict, content_faults: Iterable[str] = ()
) -> Iterator[str]:
    """The document's lines (each ending in a newline), with the report's content faults applied."""
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
