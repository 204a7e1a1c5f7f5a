"""Fulfillment Inbound v0 getShipments: the seller's inbound shipments to FBA with their status now.

A DATE_RANGE query over the last LOOKBACK days of updates covers every open shipment (they move at
least every few days) and the recently closed ones; NEXT_TOKEN pages follow.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sp_api.api import FulfillmentInboundV0

from orchestration.extract.connection import SellerConnection
from orchestration.extract.pages import pages_document
from orchestration.extract.reports import ReportDocument, call_api

LOOKBACK = timedelta(days=90)


def get_shipments(connection: SellerConnection, marketplace_id: str) -> ReportDocument:
    client = connection.client(FulfillmentInboundV0, marketplace_id)
    now = datetime.now(UTC)
    arguments = {
        "MarketplaceId": marketplace_id,
        "QueryType": "DATE_RANGE",
        "LastUpdatedAfter": (now - LOOKBACK).isoformat().replace("+00:00", "Z"),
        "LastUpdatedBefore": now.isoformat().replace("+00:00", "Z"),
    }
    pages: list[dict] = []
    payload = call_api("getShipments", client.get_shipments, connection=connection, **arguments).payload
    while True:
        pages.append({"payload": _without_address(payload)})
        token = (payload or {}).get("NextToken")
        if not token:
            break
        payload = call_api(
            "getShipments", client.get_shipments, connection=connection,
            MarketplaceId=marketplace_id, QueryType="NEXT_TOKEN", NextToken=token,
        ).payload
    context = {"marketplace_id": marketplace_id, "snapshot_at": now.isoformat()}
    return pages_document("getShipments", pages, context, arguments)


def _without_address(payload: dict) -> dict:
    """The ship-from address is the seller's own (a person, for sole traders): only country and state stay."""
    shipments = []
    for shipment in (payload or {}).get("ShipmentData") or []:
        origin = shipment.get("ShipFromAddress") or {}
        kept = {k: origin[k] for k in ("CountryCode", "StateOrProvinceCode") if k in origin}
        shipments.append({**shipment, "ShipFromAddress": kept})
    return {**(payload or {}), "ShipmentData": shipments}
