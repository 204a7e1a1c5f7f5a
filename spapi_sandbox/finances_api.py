"""Finances v0 listFinancialEvents: the world's money events as ShipmentEvent and RefundEvent lists.

Amazon's rules: PostedAfter and PostedBefore at most 180 days apart, PostedBefore at least 2 minutes before
now (its default), and NextToken sent WITH the same arguments. Pages follow a cursor (purchase day, events
already given from that day), so each page costs one more stretch of days, never the whole range again.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from itertools import groupby
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from . import marketplaces
from .errors import invalid_input
from .gate import Caller, gate
from .world import MoneyEvent, to_utc

router = APIRouter()
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


def api_events(events: list[MoneyEvent]) -> list[tuple[str, dict]]:
    """("ShipmentEventList" | "RefundEventList", event) in order: one shipment event per order, one refund
    event per refunded item."""
    out = []
    for (kind, order_id, _posted), group in groupby(
        events, key=lambda ev: (ev.kind, ev.item.amazon_order_id, ev.posted if ev.kind == "Order" else ev)
    ):
        group = list(group)
        first = group[0]
        refund = kind == "Refund"
        event = {
            "AmazonOrderId": order_id,
            "MarketplaceName": marketplaces.get(first.item.marketplace_id).sales_channel,
            "PostedDate": first.posted.isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
        if first.item.merchant_order_id:
            event["SellerOrderId"] = first.item.merchant_order_id
        event["ShipmentItemAdjustmentList" if refund else "ShipmentItemList"] = [
            _item(ev, refund) for ev in group
        ]
        out.append(("RefundEventList" if refund else "ShipmentEventList", event))
    return out


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
        raise invalid_input(
            "Date range is invalid. PostedAfter and PostedBefore must be at most 180 days apart."
        )
    args = {"after": after.isoformat(), "before": before.isoformat(), "size": size}
    cursor = _decode(caller, params["NextToken"], args) if "NextToken" in params else {"day": None, "skip": 0}
    world = caller.sandbox.state.world()
    from_day = dt.date.fromordinal(cursor["day"]) if cursor["day"] else None
    lists: dict[str, list] = {"ShipmentEventList": [], "RefundEventList": []}
    taken, next_cursor = 0, None
    for day, events in world.money_event_days(caller.seller_id, after, before, from_day=from_day):
        grouped = api_events(events)
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
            caller, {**next_cursor, "args": _args_digest(args), "seller": caller.seller_id}
        )
    return {"payload": payload}
