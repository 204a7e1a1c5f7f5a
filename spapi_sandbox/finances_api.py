"""Finances v0: listFinancialEvents (every event list of the money world) and listFinancialEventGroups.

Amazon's rules: PostedAfter and PostedBefore at most 180 days apart, PostedBefore at least 2 minutes before
now (its default), and NextToken sent WITH the same arguments. Pages follow a cursor (day, events already
given from that day), so each page costs one more stretch of days, never the whole range again. A group is
one settlement period (docs/sandbox.md "Money world": how group, settlement and deposit relate).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal
from itertools import groupby
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from . import marketplaces
from .errors import invalid_input
from .gate import Caller, gate
from .world import AccountEvent, MoneyEvent, World, to_utc
from .world.finances import settlement_periods
from .world.money import COMPONENTS, KINDS, removal_item_id

router = APIRouter()
# Every list the money world fills, always present (empty lists too), in Amazon's model order.
V0_LISTS = (
    "ShipmentEventList",
    "RefundEventList",
    "GuaranteeClaimEventList",
    "ChargebackEventList",
    "ProductAdsPaymentEventList",
    "ServiceFeeEventList",
    "SellerDealPaymentEventList",
    "AdjustmentEventList",
    "CouponPaymentEventList",
    "RemovalShipmentEventList",
)
MAX_RANGE = dt.timedelta(days=180)
MIN_AGE = dt.timedelta(minutes=2)


def _amount(currency: str, value) -> dict:
    return {"CurrencyCode": currency, "CurrencyAmount": float(value)}


def _item(ev: MoneyEvent, refund: bool) -> dict:
    it, cur = ev.item, ev.currency
    charges = [{"ChargeType": t, "ChargeAmount": _amount(cur, a)} for t, a in ev.charges]
    fees = [{"FeeType": t, "FeeAmount": _amount(cur, a)} for t, a in ev.fees]
    promotions = [
        {
            "PromotionType": "Shipping" if p == "FreeShipping" else "Principal",
            "PromotionId": p,
            "PromotionAmount": _amount(cur, a),
        }
        for p, a in ev.promotions
    ]
    out = {"SellerSKU": it.sku.sku, "OrderItemId": it.order_item_id, "QuantityShipped": it.quantity}
    if refund:
        out.update(
            OrderAdjustmentItemId=ev.adjustment_id,
            ItemChargeAdjustmentList=charges,
            ItemFeeAdjustmentList=fees,
            PromotionAdjustmentList=promotions,
        )
    else:
        out.update(ItemChargeList=charges, ItemFeeList=fees, PromotionList=promotions)
    return out


ITEM_LISTS = {
    "Order": "ShipmentEventList",
    "Refund": "RefundEventList",
    "Chargeback": "ChargebackEventList",
    "GuaranteeClaim": "GuaranteeClaimEventList",
}


def api_events(events: list[MoneyEvent]) -> list[tuple[str, dict]]:
    """(event list name, event) in order: one shipment event per order shipment, one refund (chargeback,
    guarantee claim) event per reversed item."""
    out = []
    for (kind, order_id, _posted), group in groupby(
        events, key=lambda ev: (ev.kind, ev.item.amazon_order_id, ev.posted if ev.kind == "Order" else ev)
    ):
        group = list(group)
        first = group[0]
        refund = kind != "Order"
        event = {
            "AmazonOrderId": order_id,
            "MarketplaceName": marketplaces.get(first.item.marketplace_id).sales_channel,
            "PostedDate": first.posted.isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
        if first.item.merchant_order_id:
            event["SellerOrderId"] = first.item.merchant_order_id
        event["ShipmentItemAdjustmentList" if refund else "ShipmentItemList"] = [_item(ev, refund) for ev in group]
        out.append((ITEM_LISTS[kind], event))
    return out


def account_api_events(ev: AccountEvent) -> list[tuple[str, dict]]:
    """(event list name, event) of one account-level posting: the v0 shape of each kind of money."""
    cur, posted = ev.currency, ev.posted.isoformat(timespec="seconds").replace("+00:00", "Z")
    kind = KINDS[ev.kind]
    if kind.v0_list == "ServiceFeeEventList":  # one event per FNSKU, and no PostedDate in Amazon's model
        out = []
        for line in ev.lines:
            event = {
                "FeeDescription": kind.description,
                "FeeList": [{"FeeType": COMPONENTS[line.component].v0_type, "FeeAmount": _amount(cur, line.amount)}],
            }
            if ev.kind == "inbound_placement":
                event["FeeReason"] = ev.reference
            if line.sku is not None:
                event.update(SellerSKU=line.sku.sku, FnSKU=line.sku.fnsku, ASIN=line.sku.asin)
            out.append((kind.v0_list, event))
        return out
    if ev.kind == "ads":
        (line,) = ev.lines
        event = {
            "postedDate": posted,
            "transactionType": "charge",
            "invoiceId": ev.reference,
            "baseValue": _amount(cur, line.base),
            "taxValue": _amount(cur, line.tax),
            "transactionValue": _amount(cur, line.amount),
        }
        return [(kind.v0_list, event)]
    if ev.kind == "coupon":
        fee, *charge = ev.lines
        charge_amount = charge[0].amount if charge else Decimal(0)
        event = {
            "PostedDate": posted,
            "CouponId": ev.reference,
            "SellerCouponDescription": f"Save on {fee.sku.sku}",
            "ClipOrRedemptionCount": fee.quantity,
            "PaymentEventId": ev.reference + "-" + ev.posted.strftime("%Y%m%d"),
            "FeeComponent": {"FeeType": COMPONENTS[fee.component].v0_type, "FeeAmount": _amount(cur, fee.amount)},
            "ChargeComponent": {
                "ChargeType": COMPONENTS["CouponPerformanceFee"].v0_type,
                "ChargeAmount": _amount(cur, charge_amount),
            },
            "TotalAmount": _amount(cur, ev.total()),
        }
        return [(kind.v0_list, event)]
    if ev.kind == "deal":  # one event per fee of the deal
        return [
            (
                kind.v0_list,
                {
                    "postedDate": posted,
                    "dealId": ev.reference,
                    "dealDescription": f"Deal on {line.sku.sku}",
                    "eventType": "SellerDealComplete",
                    "feeType": COMPONENTS[line.component].v0_type,
                    "feeAmount": _amount(cur, line.base),
                    "taxAmount": _amount(cur, line.tax),
                    "totalAmount": _amount(cur, line.amount),
                },
            )
            for line in ev.lines
        ]
    if kind.v0_list == "RemovalShipmentEventList":
        zero = Decimal(0)
        event = {
            "PostedDate": posted,
            "MerchantOrderId": ev.reference,
            "OrderId": ev.reference,
            "TransactionType": "Removal" if ev.kind == "removal" else "Disposal",
            "RemovalShipmentItemList": [
                {
                    "RemovalShipmentItemId": removal_item_id(ev.reference, index),
                    "TaxCollectionModel": "Standard",
                    "FulfillmentNetworkSKU": line.sku.fnsku,
                    "Quantity": line.quantity,
                    "Revenue": _amount(cur, zero),
                    "FeeAmount": _amount(cur, line.amount),
                    "TaxAmount": _amount(cur, zero),
                    "TaxWithheld": _amount(cur, zero),
                }
                for index, line in enumerate(ev.lines)
            ],
        }
        return [(kind.v0_list, event)]
    # AdjustmentEventList: reimbursements, clawbacks, reserves
    event = {
        "AdjustmentType": {"reimbursement": "FBAInventoryReimbursement", "clawback": "ReimbursementClawback"}.get(
            ev.kind, "ReserveEvent"
        ),
        "PostedDate": posted,
        "AdjustmentAmount": _amount(cur, ev.total()),
    }
    items = [
        {
            "Quantity": str(line.quantity),
            "PerUnitAmount": _amount(cur, line.amount / line.quantity),
            "TotalAmount": _amount(cur, line.amount),
            "SellerSKU": line.sku.sku,
            "FnSKU": line.sku.fnsku,
            "ProductDescription": line.sku.local_name(ev.marketplace_id),
            "ASIN": line.sku.asin,
            "TransactionNumber": ev.reference,
        }
        for line in ev.lines
        if line.sku is not None
    ]
    if items:
        event["AdjustmentItemList"] = items
    return [(kind.v0_list, event)]


def _token_key(caller: Caller) -> bytes:
    return hashlib.sha256(b"finances-next-token|" + caller.sandbox.state.secret).digest()


def _args_digest(args: dict) -> str:
    return hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()[:16]


def _encode(caller: Caller, cursor: dict) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(cursor, separators=(",", ":")).encode()).decode()
    return payload + "." + hmac.new(_token_key(caller), payload.encode(), hashlib.sha256).hexdigest()[:32]


def _decode(caller: Caller, token: str, args: dict) -> dict:
    payload, _, sig = token.partition(".")
    good = hmac.new(_token_key(caller), payload.encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(sig, good):
        raise invalid_input("Invalid NextToken.")
    cursor = json.loads(base64.urlsafe_b64decode(payload))
    if cursor["args"] != _args_digest(args) or cursor["seller"] != caller.seller_id:
        raise invalid_input("NextToken must be sent with the same arguments as the request that returned it.")
    return cursor


@router.get("/finances/v0/financialEvents")
def list_financial_events(request: Request, caller: Annotated[Caller, Depends(gate("listFinancialEvents"))]):
    params = request.query_params
    now = dt.datetime.now(dt.UTC)
    try:
        size = int(params.get("MaxResultsPerPage", 100))
    except ValueError:
        raise invalid_input("MaxResultsPerPage must be an integer.") from None
    if not 1 <= size <= 100:
        raise invalid_input("MaxResultsPerPage must be between 1 and 100.")
    if "PostedAfter" not in params:
        raise invalid_input("PostedAfter is required.")
    try:
        after = to_utc(params["PostedAfter"])
        before = to_utc(params["PostedBefore"]) if "PostedBefore" in params else now - MIN_AGE
    except ValueError:
        raise invalid_input("PostedAfter and PostedBefore must be ISO 8601 date-times.") from None
    if before > now - MIN_AGE:
        raise invalid_input(
            "Date range is invalid. PostedBefore must be at least 2 minutes before the time of the request."
        )
    if after >= before:
        raise invalid_input("Date range is invalid. PostedAfter must be before PostedBefore.")
    if before - after > MAX_RANGE:
        raise invalid_input("Date range is invalid. PostedAfter and PostedBefore must be at most 180 days apart.")
    # The arguments as sent: a defaulted PostedBefore (now - 2 min) moves between pages, so the first page's
    # value travels in the token and holds for every page.
    args = {"after": after.isoformat(), "before": params.get("PostedBefore"), "size": size}
    cursor = {"day": None, "skip": 0}
    if "NextToken" in params:
        cursor = _decode(caller, params["NextToken"], args)
        before = to_utc(cursor.get("before", before.isoformat()))
    world = caller.sandbox.state.world()
    from_day = dt.date.fromordinal(cursor["day"]) if cursor["day"] else None
    lists: dict[str, list] = {name: [] for name in V0_LISTS}
    taken, next_cursor = 0, None
    for day, events, account in world.money_days(caller.seller_id, after, before, from_day=from_day):
        grouped = api_events(events) + [e for ev in account for e in account_api_events(ev)]
        skip = cursor["skip"] if cursor["day"] == day.toordinal() else 0
        for index in range(skip, len(grouped)):
            if taken == size:
                next_cursor = {"day": day.toordinal(), "skip": index}
                break
            name, event = grouped[index]
            lists[name].append(event)
            taken += 1
        if next_cursor:
            break
    payload: dict = {"FinancialEvents": lists}
    if next_cursor:
        payload["NextToken"] = _encode(
            caller,
            {**next_cursor, "before": before.isoformat(), "args": _args_digest(args), "seller": caller.seller_id},
        )
    return {"payload": payload}


def _group(world: World, seller_id: str, settlement, now: dt.datetime) -> dict:
    """One settlement period as a FinancialEventGroup; an open group's total is what has posted so far."""
    cur = marketplaces.get(settlement.marketplace_id).currency
    closed = settlement.end <= now
    total = sum(
        (
            ev.total()
            for ev in world.all_money(
                seller_id, settlement.start, min(settlement.end, now - MIN_AGE), [settlement.marketplace_id]
            )
        ),
        Decimal(0),
    )
    group = {
        "FinancialEventGroupId": settlement.financial_event_group_id,
        "ProcessingStatus": "Closed" if closed else "Open",
        "OriginalTotal": _amount(cur, total),
        "ConvertedTotal": _amount(cur, total),
        "FinancialEventGroupStart": _iso(settlement.start),
    }
    if closed:
        group["FinancialEventGroupEnd"] = _iso(settlement.end)
        group["FundTransferStatus"] = "Succeeded" if settlement.deposit_date <= now else "Initiated"
        group["FundTransferDate"] = _iso(settlement.deposit_date)
        digest = hashlib.sha256(f"trace|{settlement.settlement_id}".encode()).hexdigest()
        group["TraceId"] = digest[:20].upper()
        group["AccountTail"] = str(int(hashlib.sha256(f"tail|{seller_id}".encode()).hexdigest(), 16) % 1000).zfill(3)
    return group


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@router.get("/finances/v0/financialEventGroups")
def list_financial_event_groups(request: Request, caller: Annotated[Caller, Depends(gate("listFinancialEventGroups"))]):
    """The seller's settlement periods that started in [StartedAfter, StartedBefore), oldest first."""
    params = request.query_params
    now = dt.datetime.now(dt.UTC)
    try:
        size = int(params.get("MaxResultsPerPage", 10))
    except ValueError:
        raise invalid_input("MaxResultsPerPage must be an integer.") from None
    if not 1 <= size <= 100:
        raise invalid_input("MaxResultsPerPage must be between 1 and 100.")
    try:
        before = (
            to_utc(params["FinancialEventGroupStartedBefore"])
            if "FinancialEventGroupStartedBefore" in params
            else now - MIN_AGE
        )
        after = (
            to_utc(params["FinancialEventGroupStartedAfter"])
            if "FinancialEventGroupStartedAfter" in params
            else before - MAX_RANGE
        )
    except ValueError:
        raise invalid_input("The dates must be ISO 8601 date-times.") from None
    if after > now - MIN_AGE or before > now - MIN_AGE:
        raise invalid_input(
            "Date range is invalid. The dates must be more than 2 minutes before the time of the request."
        )
    if after >= before:
        raise invalid_input("FinancialEventGroupStartedBefore must be after FinancialEventGroupStartedAfter.")
    payload: dict = {"FinancialEventGroupList": []}
    if before - after > MAX_RANGE:  # Amazon: more than 180 days apart, no groups
        return {"payload": payload}
    args = {
        "after": params.get("FinancialEventGroupStartedAfter"),
        "before": params.get("FinancialEventGroupStartedBefore"),
        "size": size,
    }
    skip = 0
    if "NextToken" in params:
        cursor = _decode(caller, params["NextToken"], args)
        skip, before = cursor["skip"], to_utc(cursor["before"])
        after = to_utc(params["FinancialEventGroupStartedAfter"]) if args["after"] else before - MAX_RANGE
    world = caller.sandbox.state.world()
    periods = sorted(
        (
            s
            for m in caller.seller["marketplace_ids"]
            for s in settlement_periods(world.seed, caller.seller_id, m, after, now + MAX_RANGE)
            if after <= s.start < before and s.start >= world.first_moment()
        ),
        key=lambda s: (s.start, s.marketplace_id),
    )
    page = periods[skip : skip + size]
    payload["FinancialEventGroupList"] = [_group(world, caller.seller_id, s, now) for s in page]
    if skip + size < len(periods):
        payload["NextToken"] = _encode(
            caller,
            {"skip": skip + size, "before": before.isoformat(), "args": _args_digest(args), "seller": caller.seller_id},
        )
    return {"payload": payload}
