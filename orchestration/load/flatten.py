"""Flattens JSON documents (API pages, the sales-and-traffic report) into records for load/parse.py.

Each flattener names the fields it reads, one by one: nothing is copied wholesale out of Amazon's JSON,
so a field Amazon adds tomorrow (or a ship-from address) never reaches a record. Records are keyed by
the `source` names of the dataset's columns (load/datasets.py); parse_records then types them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator


def _amount(money: dict | None) -> tuple[object, object]:
    if not money:
        return None, None
    return money.get("CurrencyAmount", money.get("amount")), money.get("CurrencyCode", money.get("currencyCode"))


def financial_events(document: dict) -> Iterator[dict]:
    """One record per charge, fee or promotion line of every shipment and refund event."""
    for page in document.get("pages", []):
        events = (page.get("FinancialEvents") or {})
        for list_name, event_type, items_key, suffix in (
            ("ShipmentEventList", "Shipment", "ShipmentItemList", "List"),
            ("RefundEventList", "Refund", "ShipmentItemAdjustmentList", "AdjustmentList"),
        ):
            for event in events.get(list_name) or []:
                common = {
                    "PostedDate": event.get("PostedDate"),
                    "EventType": event_type,
                    "AmazonOrderId": event.get("AmazonOrderId"),
                    "SellerOrderId": event.get("SellerOrderId"),
                    "MarketplaceName": event.get("MarketplaceName"),
                }
                for item in event.get(items_key) or []:
                    line_common = {
                        **common,
                        "OrderItemId": item.get("OrderItemId"),
                        "AdjustmentItemId": item.get("OrderAdjustmentItemId"),
                        "SellerSKU": item.get("SellerSKU"),
                        "QuantityShipped": item.get("QuantityShipped"),
                    }
                    for kind, list_key, type_key, amount_key in (
                        ("Charge", f"ItemCharge{suffix}", "ChargeType", "ChargeAmount"),
                        ("Fee", f"ItemFee{suffix}", "FeeType", "FeeAmount"),
                        ("Promotion", f"Promotion{suffix}", "PromotionType", "PromotionAmount"),
                    ):
                        for line in item.get(list_key) or []:
                            amount, currency = _amount(line.get(amount_key))
                            yield {
                                **line_common,
                                "LineKind": kind,
                                "AmountType": line.get(type_key),
                                "PromotionId": line.get("PromotionId"),
                                "Amount": amount,
                                "CurrencyCode": currency,
                            }


def inventory_summaries(document: dict) -> Iterator[dict]:
    for page in document.get("pages", []):
        for summary in (page.get("payload") or {}).get("inventorySummaries") or []:
            details = summary.get("inventoryDetails") or {}
            reserved = details.get("reservedQuantity") or {}
            researching = details.get("researchingQuantity") or {}
            unfulfillable = details.get("unfulfillableQuantity") or {}
            yield {
                "sellerSku": summary.get("sellerSku"),
                "fnSku": summary.get("fnSku"),
                "asin": summary.get("asin"),
                "productName": summary.get("productName"),
                "condition": summary.get("condition"),
                "lastUpdatedTime": summary.get("lastUpdatedTime"),
                "totalQuantity": summary.get("totalQuantity"),
                "fulfillableQuantity": details.get("fulfillableQuantity"),
                "inboundWorkingQuantity": details.get("inboundWorkingQuantity"),
                "inboundShippedQuantity": details.get("inboundShippedQuantity"),
                "inboundReceivingQuantity": details.get("inboundReceivingQuantity"),
                "totalReservedQuantity": reserved.get("totalReservedQuantity"),
                "pendingCustomerOrderQuantity": reserved.get("pendingCustomerOrderQuantity"),
                "pendingTransshipmentQuantity": reserved.get("pendingTransshipmentQuantity"),
                "fcProcessingQuantity": reserved.get("fcProcessingQuantity"),
                "totalResearchingQuantity": researching.get("totalResearchingQuantity"),
                "totalUnfulfillableQuantity": unfulfillable.get("totalUnfulfillableQuantity"),
            }


def inbound_shipments(document: dict) -> Iterator[dict]:
    """Shipment headers; of the ship-from address only the country and state are kept."""
    for page in document.get("pages", []):
        for shipment in (page.get("payload") or {}).get("ShipmentData") or []:
            origin = shipment.get("ShipFromAddress") or {}
            yield {
                "ShipmentId": shipment.get("ShipmentId"),
                "ShipmentName": shipment.get("ShipmentName"),
                "DestinationFulfillmentCenterId": shipment.get("DestinationFulfillmentCenterId"),
                "ShipmentStatus": shipment.get("ShipmentStatus"),
                "LabelPrepType": shipment.get("LabelPrepType"),
                "AreCasesRequired": shipment.get("AreCasesRequired"),
                "BoxContentsSource": shipment.get("BoxContentsSource"),
                "ShipFromCountryCode": origin.get("CountryCode"),
                "ShipFromStateOrProvinceCode": origin.get("StateOrProvinceCode"),
            }


_SALES = (
    "unitsOrdered", "unitsOrderedB2B", "totalOrderItems", "totalOrderItemsB2B", "unitsRefunded", "refundRate",
    "unitsShipped", "ordersShipped",
)
_TRAFFIC = (
    "browserSessions", "mobileAppSessions", "sessions", "sessionsB2B", "browserPageViews", "mobileAppPageViews",
    "pageViews", "pageViewsB2B", "buyBoxPercentage", "unitSessionPercentage", "orderItemSessionPercentage",
    "sessionPercentage", "pageViewsPercentage",
)


def _sales_and_traffic(sales: dict, traffic: dict) -> dict:
    ordered, currency = _amount(sales.get("orderedProductSales"))
    ordered_b2b, _ = _amount(sales.get("orderedProductSalesB2B"))
    shipped, _ = _amount(sales.get("shippedProductSales"))
    record = {
        "orderedProductSales": ordered,
        "orderedProductSalesB2B": ordered_b2b,
        "shippedProductSales": shipped,
        "currencyCode": currency,
    }
    record.update({name: sales.get(name) for name in _SALES})
    record.update({name: traffic.get(name) for name in _TRAFFIC})
    return record


def sales_traffic_by_date(document: dict) -> Iterator[dict]:
    for entry in document.get("salesAndTrafficByDate") or []:
        yield {"date": entry.get("date"), **_sales_and_traffic(entry.get("salesByDate") or {},
                                                              entry.get("trafficByDate") or {})}


def sales_traffic_by_sku(document: dict) -> Iterator[dict]:
    for entry in document.get("salesAndTrafficByAsin") or []:
        yield {
            "sku": entry.get("sku"),
            "parentAsin": entry.get("parentAsin"),
            "childAsin": entry.get("childAsin"),
            **_sales_and_traffic(entry.get("salesByAsin") or {}, entry.get("trafficByAsin") or {}),
        }


FLATTENERS: dict[str, Callable[[dict], Iterator[dict]]] = {
    "financial_events": financial_events,
    "inventory_summaries": inventory_summaries,
    "inbound_shipments": inbound_shipments,
    "sales_traffic_by_date": sales_traffic_by_date,
    "sales_traffic_by_sku": sales_traffic_by_sku,
}


def load_json_document(text: str) -> dict:
    """A JSON document; the sales-and-traffic report may end with a newline or hold one object per line."""
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        first = text.splitlines()[0] if text else "{}"
        return json.loads(first)
