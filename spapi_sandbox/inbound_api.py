"""Fulfillment Inbound v0 getShipments: the world's inbound shipments to FBA, 20 a page.

QueryType ``SHIPMENT`` needs ShipmentStatusList or ShipmentIdList (dates optional), ``DATE_RANGE`` needs
LastUpdatedAfter and LastUpdatedBefore (statuses optional), ``NEXT_TOKEN`` needs the NextToken of the previous
page. Statuses and last-updated moments are those at the time of the first page's request.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from . import paging
from .errors import invalid_input
from .gate import Caller, gate
from .world import InboundShipment, to_utc
from .world.inventory import LEAD_TIME

router = APIRouter()
PAGE_SIZE = 20
STATUSES = (
    "WORKING",
    "READY_TO_SHIP",
    "SHIPPED",
    "RECEIVING",
    "CANCELLED",
    "DELETED",
    "CLOSED",
    "ERROR",
    "IN_TRANSIT",
    "DELIVERED",
    "CHECKED_IN",
)
OPEN_STATUSES = frozenset(STATUSES) - {"CANCELLED", "DELETED", "CLOSED"}


def shipment_info(sh: InboundShipment, as_of: dt.datetime) -> dict:
    return {
        "ShipmentId": sh.shipment_id,
        "ShipmentName": sh.shipment_name,
        "ShipFromAddress": dict(sh.ship_from),
        "DestinationFulfillmentCenterId": sh.destination,
        "ShipmentStatus": sh.status_as_of(as_of)[0],
        "LabelPrepType": sh.label_prep_type,
        "AreCasesRequired": sh.are_cases_required,
        "BoxContentsSource": sh.box_contents_source,
    }


def _time(params, name: str) -> dt.datetime | None:
    if not params.get(name):
        return None
    try:
        return to_utc(params[name])
    except ValueError:
        raise invalid_input(f"{name} must be an ISO 8601 date-time.") from None


@router.get("/fba/inbound/v0/shipments")
def get_shipments(request: Request, caller: Annotated[Caller, Depends(gate("getShipments"))]):
    params = request.query_params
    sandbox = caller.sandbox
    mkt = params.get("MarketplaceId")
    if not mkt:
        raise invalid_input("MarketplaceId is required.")
    if mkt not in caller.seller["marketplace_ids"]:
        raise invalid_input(f"The seller is not registered in marketplace {mkt}.")
    query_type = params.get("QueryType")
    if query_type == "NEXT_TOKEN":
        token = params.get("NextToken")
        cursor = paging.decode(sandbox, "inbound", token) if token else None
        if cursor is None or cursor["seller"] != caller.seller_id or cursor["mkt"] != mkt:
            raise invalid_input("NextToken is missing or invalid.")
        query = cursor
    elif query_type in ("SHIPMENT", "DATE_RANGE"):
        statuses = paging.csv_param(params, "ShipmentStatusList")
        if set(statuses) - set(STATUSES):
            raise invalid_input(f"Invalid ShipmentStatusList values {sorted(set(statuses) - set(STATUSES))}.")
        ids = paging.csv_param(params, "ShipmentIdList")
        after, before = _time(params, "LastUpdatedAfter"), _time(params, "LastUpdatedBefore")
        if query_type == "SHIPMENT" and not statuses and not ids:
            raise invalid_input("ShipmentStatusList or ShipmentIdList is required when QueryType is SHIPMENT.")
        if query_type == "DATE_RANGE" and (after is None or before is None):
            raise invalid_input("LastUpdatedAfter and LastUpdatedBefore are required when QueryType is DATE_RANGE.")
        if after and before and after > before:
            raise invalid_input("LastUpdatedAfter must be before LastUpdatedBefore.")
        query = {
            "seller": caller.seller_id,
            "mkt": mkt,
            "statuses": statuses,
            "ids": ids,
            "after": after.isoformat() if after else None,
            "before": before.isoformat() if before else None,
            "asOf": dt.datetime.now(dt.UTC).isoformat(),
            "offset": 0,
        }
    else:
        raise invalid_input("QueryType is required and must be SHIPMENT, DATE_RANGE or NEXT_TOKEN.")
    as_of = to_utc(query["asOf"])
    world = sandbox.state.world()
    after = to_utc(query["after"]) if query["after"] else None
    before = min(to_utc(query["before"]), as_of) if query["before"] else as_of
    if after is None and query["statuses"] and not query["ids"] and set(query["statuses"]) <= OPEN_STATUSES:
        after = as_of - LEAD_TIME - dt.timedelta(days=4)  # open shipments are all recent: skip the history
    shipments = world.inbound_shipments(caller.seller_id, mkt, updated_after=after, as_of=as_of)
    wanted_ids, wanted_statuses = set(query["ids"]), set(query["statuses"])
    matches = []
    for sh in shipments:
        status, updated = sh.status_as_of(as_of)
        if (after and updated < after) or updated > before:
            continue
        if wanted_ids and sh.shipment_id not in wanted_ids:
            continue
        if wanted_statuses and status not in wanted_statuses:
            continue
        matches.append(sh)
    offset = query["offset"]
    payload: dict = {"ShipmentData": [shipment_info(sh, as_of) for sh in matches[offset : offset + PAGE_SIZE]]}
    if offset + PAGE_SIZE < len(matches):
        payload["NextToken"] = paging.encode(sandbox, "inbound", {**query, "offset": offset + PAGE_SIZE})
    return {"payload": payload}
