"""FBA Inventory v1 getInventorySummaries: the world's AFN stock per marketplace, 50 summaries a page.

Amazon's rules: granularityType ``Marketplace`` with the marketplace as granularityId, exactly one
marketplaceId, startDateTime at most 18 months back (it selects summaries changed since, ignoring
sellerSkus), and a nextToken that expires 30 seconds after it was made (scaled by time-scale). Pages of one
listing show the inventory of one moment, the first page's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from . import paging
from .errors import invalid_input
from .gate import Caller, gate
from .world import InventoryPosition, to_utc

router = APIRouter()
PAGE_SIZE = 50
TOKEN_SECONDS = 30
MAX_SKUS = 50
START_HISTORY = dt.timedelta(days=548)  # 18 months


def summary(p: InventoryPosition, details: bool) -> dict:
    out = {
        "asin": p.sku.asin,
        "fnSku": p.sku.fnsku,
        "sellerSku": p.sku.sku,
        "condition": "NewItem",
        "lastUpdatedTime": p.last_updated.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "productName": p.sku.local_name(p.marketplace_id),
        "totalQuantity": p.total,
        "stores": [],
    }
    if details:
        out["inventoryDetails"] = {
            "fulfillableQuantity": p.fulfillable,
            "inboundWorkingQuantity": p.inbound_working,
            "inboundShippedQuantity": p.inbound_shipped,
            "inboundReceivingQuantity": p.inbound_receiving,
            "reservedQuantity": {
                "totalReservedQuantity": p.reserved,
                "pendingCustomerOrderQuantity": p.pending_customer_order,
                "pendingTransshipmentQuantity": p.pending_transshipment,
                "fcProcessingQuantity": p.fc_processing,
            },
            "researchingQuantity": {
                "totalResearchingQuantity": p.researching_total,
                "researchingQuantityBreakdown": [{"name": n, "quantity": q} for n, q in p.researching.items()],
            },
            "unfulfillableQuantity": {"totalUnfulfillableQuantity": p.unfulfillable_total, **p.unfulfillable},
        }
    return out


@router.get("/fba/inventory/v1/summaries")
def get_inventory_summaries(
    request: Request, caller: Annotated[Caller, Depends(gate("getInventorySummaries"))]
):
    params = request.query_params
    sandbox = caller.sandbox
    if params.get("granularityType") != "Marketplace":
        raise invalid_input("granularityType is required and must be Marketplace.")
    mkts = paging.csv_param(params, "marketplaceIds")
    if len(set(mkts)) != 1:
        raise invalid_input("marketplaceIds must hold exactly one marketplace id.")
    mkt = mkts[0]
    if params.get("granularityId") != mkt:
        raise invalid_input("granularityId must be the marketplace id given in marketplaceIds.")
    if mkt not in caller.seller["marketplace_ids"]:
        raise invalid_input(f"The seller is not registered in marketplace {mkt}.")
    details = params.get("details", "false").lower()
    if details not in ("true", "false"):
        raise invalid_input("details must be true or false.")
    now = dt.datetime.now(dt.UTC)
    start = None
    if params.get("startDateTime"):
        try:
            start = to_utc(params["startDateTime"])
        except ValueError:
            raise invalid_input("Query parameter [startDateTime] value is not a valid ISO date-time object") from None
        if start < now - START_HISTORY:
            raise invalid_input("Query startDateTime cannot be earlier than 18 months.")
    skus = paging.csv_param(params, "sellerSkus")
    if len(skus) > MAX_SKUS:
        raise invalid_input(f"sellerSkus accepts at most {MAX_SKUS} SKUs.")
    if not skus and params.get("sellerSku"):
        skus = [params["sellerSku"]]
    args = {"mkt": mkt, "start": start.isoformat() if start else None, "skus": skus, "details": details}
    digest = hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()[:16]
    offset, as_of = 0, now
    if params.get("nextToken"):
        cursor = paging.decode(sandbox, "inventory", params["nextToken"])
        if (
            cursor is None
            or cursor["seller"] != caller.seller_id
            or cursor["args"] != digest
            or time.time() - cursor["issued"] > sandbox.config.real_seconds(TOKEN_SECONDS)
        ):
            raise invalid_input("Next token is invalid or expired")
        offset, as_of = cursor["offset"], to_utc(cursor["asOf"])
    world = sandbox.state.world()
    rows = world.inventory(caller.seller_id, mkt, as_of)
    if start is not None:
        rows = [p for p in rows if p.last_updated >= start]
    elif skus:
        wanted = set(skus)
        rows = [p for p in rows if p.sku.sku in wanted]
    page = rows[offset : offset + PAGE_SIZE]
    body: dict = {}
    if offset + PAGE_SIZE < len(rows):
        cursor = {
            "seller": caller.seller_id,
            "args": digest,
            "offset": offset + PAGE_SIZE,
            "asOf": as_of.isoformat(),
            "issued": time.time(),
        }
        body["pagination"] = {"nextToken": paging.encode(sandbox, "inventory", cursor)}
    body["payload"] = {
        "granularity": {"granularityType": "Marketplace", "granularityId": mkt},
        "inventorySummaries": [summary(p, details == "true") for p in page],
    }
    return body
