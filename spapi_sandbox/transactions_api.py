"""Finances 2024-06-19 listTransactions: the money world as transactions with nested breakdowns.

One transaction per v0 event (a ServiceFee transaction holds one item per FNSKU where v0 has one event per
FNSKU). Every breakdown node's amount is the sum of its children, and the top-level nodes sum to the item's
(transaction's) totalAmount, to the cent. Amazon's rules: postedAfter required unless a related identifier
filters (only ORDER_ID and FINANCIAL_EVENT_GROUP_ID do), both dates more than 2 minutes before now,
postedBefore exclusive, more than 180 days apart: an empty answer; nextToken sent with the same arguments.
The transaction names and breakdown paths are the contract in docs/sandbox.md "Money world".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from itertools import groupby
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from . import marketplaces, paging
from .errors import invalid_input
from .gate import Caller, gate
from .world import AccountEvent, MoneyEvent, World, to_utc
from .world.finances import DEFERRAL_DAYS, Settlement, settlement_periods
from .world.money import COMPONENTS, KINDS, removal_item_id

router = APIRouter()
MAX_RANGE = dt.timedelta(days=180)
MIN_AGE = dt.timedelta(minutes=2)
PAGE_SIZE = 100
STATUSES = ("DEFERRED", "RELEASED", "DEFERRED_RELEASED")
FILTERING_IDENTIFIERS = ("ORDER_ID", "FINANCIAL_EVENT_GROUP_ID")
# A DD+7 payment ships up to 5 + 7 days before it matures into its settlement period.
DEFERRAL_REACH = dt.timedelta(days=5 + DEFERRAL_DAYS + 1)
ORDER_DESCRIPTIONS = {
    "Order": ("Shipment", "Order Payment"),
    "Refund": ("Refund", "Refund Order"),
    "Chargeback": ("Refund", "Chargeback Refund"),
    "GuaranteeClaim": ("Refund", "A-to-z Guarantee Refund"),
}
ACCOUNT_TYPE = "Standard Orders"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _currency(code: str, value: Decimal) -> dict:
    return {"currencyCode": code, "currencyAmount": float(value)}


class _Tree:
    """Breakdown nodes keyed by path; leaves carry (amount, VAT part) and sum upwards exactly."""

    def __init__(self) -> None:
        self.children: dict[str, _Tree] = {}
        self.amount = Decimal(0)
        self.tax: Decimal | None = None  # None: no VAT on this leaf; else its VAT part (0 included)

    def add(self, path: tuple[str, ...], amount: Decimal, tax: Decimal | None = None) -> None:
        node = self
        for name in path:
            node.amount += amount
            node = node.children.setdefault(name, _Tree())
        node.amount += amount
        if tax is not None:
            node.tax = (node.tax or Decimal(0)) + tax

    def render(self, currency: str) -> list[dict]:
        out = []
        for name, node in self.children.items():
            if node.children:
                children = node.render(currency)
            elif node.tax is not None:
                children = [
                    {"breakdownType": "Base", "breakdownAmount": _currency(currency, node.amount - node.tax)},
                    {"breakdownType": "Tax", "breakdownAmount": _currency(currency, node.tax)},
                ]
            else:
                children = []
            entry = {"breakdownType": name, "breakdownAmount": _currency(currency, node.amount)}
            if children:
                entry["breakdowns"] = children
            out.append(entry)
        return out


def _order_tree(ev: MoneyEvent, tree: _Tree) -> None:
    for charge, amount in ev.charges:
        tree.add(("ProductCharges", charge), amount)
    for promotion, amount in ev.promotions:
        tree.add(("Promotions", "Shipping" if promotion == "FreeShipping" else "Principal"), amount)
    taxes = dict(ev.fee_taxes)
    for fee, amount in ev.fees:
        tree.add(("AmazonFees", fee), amount, taxes.get(fee))


def _settlement_ids(settlement: Settlement) -> list[dict]:
    return [
        {"relatedIdentifierName": "SETTLEMENT_ID", "relatedIdentifierValue": settlement.settlement_id},
        {
            "relatedIdentifierName": "FINANCIAL_EVENT_GROUP_ID",
            "relatedIdentifierValue": settlement.financial_event_group_id,
        },
    ]


def _transaction_id(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:40].upper()


def _base(seller_id: str, marketplace_id: str, kind: str, description: str, txn_id: str) -> dict:
    mkt = marketplaces.get(marketplace_id)
    return {
        "sellingPartnerMetadata": {
            "sellingPartnerId": seller_id,
            "accountType": ACCOUNT_TYPE,
            "marketplaceId": marketplace_id,
        },
        "relatedIdentifiers": [],
        "transactionType": kind,
        "transactionId": txn_id,
        "transactionStatus": "RELEASED",
        "description": description,
        "marketplaceDetails": {"marketplaceId": marketplace_id, "marketplaceName": mkt.sales_channel},
    }


def order_transaction(world: World, seller_id: str, group: list[MoneyEvent], now: dt.datetime) -> dict:
    """One Shipment transaction per order shipment, one Refund transaction per reversed item."""
    first = group[0]
    it, currency = first.item, first.currency
    kind, description = ORDER_DESCRIPTIONS[first.kind]
    txn = _base(
        seller_id,
        it.marketplace_id,
        kind,
        description,
        _transaction_id(seller_id, first.kind, it.amazon_order_id, first.adjustment_id or first.posted.isoformat()),
    )
    ids = [{"relatedIdentifierName": "ORDER_ID", "relatedIdentifierValue": it.amazon_order_id}]
    if first.kind == "Order" and it.shipment_id:
        ids.append({"relatedIdentifierName": "SHIPMENT_ID", "relatedIdentifierValue": it.shipment_id})
    released = first.posted <= now
    if first.shipped is not None:
        txn["transactionStatus"] = "DEFERRED_RELEASED" if released else "DEFERRED"
        txn["contexts"] = [
            {"contextType": "DeferredContext", "deferralReason": "DD7", "maturityDate": _iso(first.posted)}
        ]
    if released:
        ids += _settlement_ids(world.settlement_of(seller_id, it.marketplace_id, first.posted))
    txn["relatedIdentifiers"] = ids
    txn["postedDate"] = _iso(first.shipped or first.posted)
    whole, items = _Tree(), []
    for ev in group:
        tree = _Tree()
        _order_tree(ev, tree)
        _order_tree(ev, whole)
        item = {
            "description": ev.item.product_name,
            "totalAmount": _currency(currency, tree.amount),
            "breakdowns": tree.render(currency),
            "contexts": [
                {
                    "contextType": "ProductContext",
                    "asin": ev.item.sku.asin,
                    "sku": ev.item.sku.sku,
                    "quantityShipped": ev.item.quantity,
                    "fulfillmentNetwork": ev.item.fulfillment,
                }
            ],
        }
        if ev.adjustment_id:
            item["relatedIdentifiers"] = [
                {
                    "itemRelatedIdentifierName": "ORDER_ADJUSTMENT_ITEM_ID",
                    "itemRelatedIdentifierValue": ev.adjustment_id,
                }
            ]
        items.append(item)
    txn["totalAmount"] = _currency(currency, whole.amount)
    txn["items"] = items
    txn["breakdowns"] = whole.render(currency)
    return txn


def account_transaction(world: World, seller_id: str, ev: AccountEvent) -> dict:
    kind = KINDS[ev.kind]
    currency = ev.currency
    txn = _base(
        seller_id,
        ev.marketplace_id,
        kind.transaction_type,
        kind.description,
        _transaction_id(seller_id, ev.kind, ev.marketplace_id, ev.reference, ev.posted.isoformat()),
    )
    ids = []
    if ev.kind == "ads":
        ids.append({"relatedIdentifierName": "INVOICE_ID", "relatedIdentifierValue": ev.reference})
    if ev.kind == "inbound_placement":
        ids.append({"relatedIdentifierName": "SHIPMENT_ID", "relatedIdentifierValue": ev.reference})
    txn["relatedIdentifiers"] = ids + _settlement_ids(world.settlement_of(seller_id, ev.marketplace_id, ev.posted))
    txn["postedDate"] = _iso(ev.posted)
    if ev.period:
        txn["contexts"] = [
            {"contextType": "TimeRangeContext", "startTime": _iso(ev.period[0]), "endTime": _iso(ev.period[1])}
        ]
    # One item per SKU (a coupon or a deal bills one SKU with two fee lines; a removal order one line per
    # FNSKU). Reimbursements carry their money at transaction level only, as Amazon's do.
    whole, by_item = _Tree(), {}
    for index, line in enumerate(ev.lines):
        whole.add(COMPONENTS[line.component].path, line.amount, line.tax if line.taxable else None)
        if line.sku is not None:
            by_item.setdefault(f"{index}" if ev.kind in ("removal", "disposal") else line.sku.sku, []).append(
                (index, line)
            )
    items = []
    for lines in by_item.values():
        index, first = lines[0]
        tree = _Tree()
        for _, line in lines:
            tree.add(COMPONENTS[line.component].path, line.amount, line.tax if line.taxable else None)
        item = {
            "description": first.sku.local_name(ev.marketplace_id),
            "totalAmount": _currency(currency, tree.amount),
            "contexts": [
                {
                    "contextType": "ProductContext",
                    "asin": first.sku.asin,
                    "sku": first.sku.sku,
                    "quantityShipped": first.quantity,
                    "fulfillmentNetwork": "AFN",
                }
            ],
        }
        if kind.transaction_type != "Adjustment":
            item["breakdowns"] = tree.render(currency)
        if ev.kind == "coupon":
            item["relatedIdentifiers"] = [
                {"itemRelatedIdentifierName": "COUPON_ID", "itemRelatedIdentifierValue": ev.reference}
            ]
        if ev.kind in ("removal", "disposal"):
            item["relatedIdentifiers"] = [
                {
                    "itemRelatedIdentifierName": "REMOVAL_SHIPMENT_ITEM_ID",
                    "itemRelatedIdentifierValue": removal_item_id(ev.reference, index),
                }
            ]
        items.append(item)
    txn["totalAmount"] = _currency(currency, whole.amount)
    if items:
        txn["items"] = items
    txn["breakdowns"] = whole.render(currency)
    return txn


def day_transactions(
    world: World, seller_id: str, events: list[MoneyEvent], account: list[AccountEvent], now
) -> list[dict]:
    """The transactions of one cursor day, in a fixed order: order money, then account money."""
    out = []
    for _key, group in groupby(
        events,
        key=lambda ev: (ev.kind, ev.item.amazon_order_id, ev.shipped or ev.posted if ev.kind == "Order" else ev),
    ):
        out.append(order_transaction(world, seller_id, list(group), now))
    out += [account_transaction(world, seller_id, ev) for ev in account]
    return out


def _has_identifier(txn: dict, name: str, value: str) -> bool:
    return any(
        r["relatedIdentifierName"] == name and r["relatedIdentifierValue"] == value for r in txn["relatedIdentifiers"]
    )


def _group_period(world: World, seller_id: str, group_id: str) -> Settlement | None:
    profile = world.profile(seller_id)
    for m in profile.marketplace_ids:
        for s in settlement_periods(
            world.seed, seller_id, m, world.first_moment(), world.now() + dt.timedelta(days=15)
        ):
            if s.financial_event_group_id == group_id:
                return s
    return None


@router.get("/finances/2024-06-19/transactions")
def list_transactions(request: Request, caller: Annotated[Caller, Depends(gate("listTransactions"))]):
    params = request.query_params
    now = dt.datetime.now(dt.UTC)
    world = caller.sandbox.state.world()
    seller_id = caller.seller_id
    status = params.get("transactionStatus")
    if status is not None and status not in STATUSES:
        raise invalid_input(f"Invalid transactionStatus {status}. Allowed: {', '.join(STATUSES)}.")
    id_name, id_value = params.get("relatedIdentifierName"), params.get("relatedIdentifierValue")
    if (id_name is None) != (id_value is None):
        raise invalid_input("relatedIdentifierName and relatedIdentifierValue must be given together.")
    if id_name is not None and id_name not in FILTERING_IDENTIFIERS:
        raise invalid_input(
            f"relatedIdentifierName {id_name} cannot filter; only {' and '.join(FILTERING_IDENTIFIERS)} can."
        )
    marketplace_id = params.get("marketplaceId", marketplaces.US.marketplace_id)
    if marketplace_id not in marketplaces.MARKETPLACES:
        raise invalid_input(f"Invalid marketplaceId {marketplace_id}.")
    if "postedAfter" not in params and id_name is None:
        raise invalid_input("postedAfter is required when no related identifier is given.")
    try:
        after = to_utc(params["postedAfter"]) if "postedAfter" in params else None
        before = to_utc(params["postedBefore"]) if "postedBefore" in params else now - MIN_AGE
    except ValueError:
        raise invalid_input("postedAfter and postedBefore must be ISO 8601 date-times.") from None
    if before > now - MIN_AGE or (after is not None and after > now - MIN_AGE):
        raise invalid_input(
            "Date range is invalid. The dates must be more than 2 minutes before the time of the request."
        )
    group = None
    if id_name == "FINANCIAL_EVENT_GROUP_ID":
        group = _group_period(world, seller_id, id_value)
        if group is None:
            return {"payload": {"transactions": []}}
        marketplace_id = group.marketplace_id
        after = max(after or group.start - DEFERRAL_REACH, group.start - DEFERRAL_REACH)
        before = min(before, group.end)
    elif after is None:  # ORDER_ID alone: the order's money lies in the last 180 days
        after = before - MAX_RANGE
    if after >= before:
        if group is not None:
            return {"payload": {"transactions": []}}
        raise invalid_input("Date range is invalid. postedAfter must be before postedBefore.")
    if before - after > MAX_RANGE + (DEFERRAL_REACH if group else dt.timedelta(0)):
        return {"payload": {"transactions": []}}
    if marketplace_id not in caller.seller["marketplace_ids"]:
        return {"payload": {"transactions": []}}
    args = {
        "after": params.get("postedAfter"),
        "before": params.get("postedBefore"),
        "marketplace": marketplace_id,
        "status": status,
        "id": [id_name, id_value],
    }
    digest = hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()[:16]
    cursor = {"day": None, "skip": 0, "before": before.isoformat()}
    if "nextToken" in params:
        cursor = paging.decode(caller.sandbox, "transactions", params["nextToken"])
        if cursor is None:
            raise invalid_input("Invalid nextToken.")
        if cursor.get("args") != digest or cursor.get("seller") != seller_id:
            raise invalid_input("nextToken must be sent with the same arguments as the request that returned it.")
        before = to_utc(cursor["before"])  # the default postedBefore of the first page holds for every page
    from_day = dt.date.fromordinal(cursor["day"]) if cursor["day"] else None
    page, next_cursor = [], None
    for day, events, account in world.money_days(
        seller_id, after, before, [marketplace_id], from_day, deferred_at_shipment=True
    ):
        txns = day_transactions(world, seller_id, events, account, now)
        skip = cursor["skip"] if cursor["day"] == day.toordinal() else 0
        for index in range(skip, len(txns)):
            txn = txns[index]
            if status is not None and txn["transactionStatus"] != status:
                continue
            if id_name is not None and not _has_identifier(txn, id_name, id_value):
                continue
            if len(page) == PAGE_SIZE:
                next_cursor = {"day": day.toordinal(), "skip": index}
                break
            page.append(txn)
        if next_cursor:
            break
    payload: dict = {"transactions": page}
    if next_cursor:
        payload["nextToken"] = paging.encode(
            caller.sandbox,
            "transactions",
            {**next_cursor, "before": before.isoformat(), "args": digest, "seller": seller_id},
        )
    return {"payload": payload}
