"""JSON datasets: each flattener reads only named fields and the records type cleanly through the allowlist."""

from datetime import date
from decimal import Decimal

from orchestration.load.datasets import (
    FINANCIAL_EVENTS,
    INBOUND_SHIPMENTS,
    INVENTORY_SUMMARIES,
    SALES_TRAFFIC_BY_DATE,
    SALES_TRAFFIC_BY_SKU,
)
from orchestration.load.flatten import (
    financial_events,
    inbound_shipments,
    inventory_summaries,
    load_json_document,
    sales_traffic_by_date,
    sales_traffic_by_sku,
)
from orchestration.load.parse import parse_records


def _money(amount, currency="USD"):
    return {"CurrencyCode": currency, "CurrencyAmount": amount}


FINANCES_PAGE = {
    "FinancialEvents": {
        "ShipmentEventList": [
            {
                "AmazonOrderId": "111-1", "SellerOrderId": "S1", "MarketplaceName": "Amazon.com",
                "PostedDate": "2026-01-02T10:00:00Z",
                "BuyerName": "Jane Buyer",
                "ShipmentItemList": [
                    {
                        "SellerSKU": "SKU-1", "OrderItemId": "OI1", "QuantityShipped": 2,
                        "ItemChargeList": [{"ChargeType": "Principal", "ChargeAmount": _money(20.0)}],
                        "ItemFeeList": [{"FeeType": "Commission", "FeeAmount": _money(-3.0)}],
                        "PromotionList": [{"PromotionType": "Principal", "PromotionId": "P1",
                                           "PromotionAmount": _money(-1.5)}],
                    }
                ],
            }
        ],
        "RefundEventList": [
            {
                "AmazonOrderId": "111-0", "MarketplaceName": "Amazon.com", "PostedDate": "2026-01-02T11:00:00Z",
                "ShipmentItemAdjustmentList": [
                    {
                        "SellerSKU": "SKU-2", "OrderItemId": "OI0", "OrderAdjustmentItemId": "ADJ1",
                        "QuantityShipped": 1,
                        "ItemChargeAdjustmentList": [{"ChargeType": "Principal", "ChargeAmount": _money(-9.99)}],
                        "ItemFeeAdjustmentList": [{"FeeType": "RefundCommission", "FeeAmount": _money(-0.3)}],
                    }
                ],
            }
        ],
    }
}


def test_financial_events_become_one_row_per_charge_fee_and_promotion_line():
    records = list(financial_events({"pages": [FINANCES_PAGE]}))
    parsed = parse_records(records, FINANCIAL_EVENTS)
    assert parsed.quarantine.height == 0
    rows = parsed.rows.sort("amount").to_dicts()
    assert [(r["event_type"], r["line_kind"], r["amount_type"], r["amount"]) for r in rows] == [
        ("Refund", "Charge", "Principal", Decimal("-9.99")),
        ("Shipment", "Fee", "Commission", Decimal("-3.00")),
        ("Shipment", "Promotion", "Principal", Decimal("-1.50")),
        ("Refund", "Fee", "RefundCommission", Decimal("-0.30")),
        ("Shipment", "Charge", "Principal", Decimal("20.00")),
    ]
    assert {r["currency"] for r in rows} == {"USD"}
    assert rows[0]["adjustment_item_id"] == "ADJ1"


def test_flatteners_never_copy_fields_they_do_not_name():
    records = list(financial_events({"pages": [FINANCES_PAGE]}))
    assert all("BuyerName" not in r for r in records)
    page = {"payload": {"ShipmentData": [{
        "ShipmentId": "FBA1", "ShipmentStatus": "WORKING", "AreCasesRequired": False,
        "ShipFromAddress": {"Name": "Seller Person", "AddressLine1": "1 Main St", "City": "Springfield",
                            "PostalCode": "12345", "StateOrProvinceCode": "IL", "CountryCode": "US"},
    }]}}
    shipments = list(inbound_shipments({"pages": [page]}))
    text = repr(shipments)
    assert "Seller Person" not in text and "1 Main St" not in text and "Springfield" not in text
    parsed = parse_records(shipments, INBOUND_SHIPMENTS, {"marketplace_id": "ATVPDKIKX0DER",
                                                          "snapshot_at": "2026-01-02T00:00:00+00:00"})
    row = parsed.rows.to_dicts()[0]
    assert (row["ship_from_state"], row["ship_from_country"], row["are_cases_required"]) == ("IL", "US", False)


def test_inventory_summaries_keep_the_detail_breakdown():
    page = {"payload": {"inventorySummaries": [{
        "sellerSku": "SKU-1", "fnSku": "X1", "asin": "B1", "condition": "NewItem", "totalQuantity": 30,
        "lastUpdatedTime": "2026-01-02T00:00:00Z",
        "inventoryDetails": {
            "fulfillableQuantity": 20, "inboundWorkingQuantity": 5, "inboundShippedQuantity": 3,
            "inboundReceivingQuantity": 0,
            "reservedQuantity": {"totalReservedQuantity": 2, "pendingCustomerOrderQuantity": 1,
                                 "pendingTransshipmentQuantity": 1, "fcProcessingQuantity": 0},
            "researchingQuantity": {"totalResearchingQuantity": 0},
            "unfulfillableQuantity": {"totalUnfulfillableQuantity": 0},
        },
    }]}}
    parsed = parse_records(list(inventory_summaries({"pages": [page]})), INVENTORY_SUMMARIES,
                           {"marketplace_id": "ATVPDKIKX0DER", "snapshot_at": "2026-01-02T08:00:00+00:00"})
    row = parsed.rows.to_dicts()[0]
    assert (row["total_quantity"], row["fulfillable_quantity"], row["reserved_quantity"]) == (30, 20, 2)
    assert row["marketplace_id"] == "ATVPDKIKX0DER"


SALES_DOCUMENT = """{"reportSpecification":{"reportType":"GET_SALES_AND_TRAFFIC_REPORT"},
"salesAndTrafficByDate":[{"date":"2026-01-02","salesByDate":{"orderedProductSales":{"amount":120.5,
"currencyCode":"USD"},"unitsOrdered":7,"totalOrderItems":6,"unitsRefunded":1,"refundRate":14.29,
"shippedProductSales":{"amount":99.0,"currencyCode":"USD"},"unitsShipped":5,"ordersShipped":4},
"trafficByDate":{"sessions":60,"pageViews":90,"buyBoxPercentage":97.5,"unitSessionPercentage":11.67}}],
"salesAndTrafficByAsin":[{"parentAsin":"B1","childAsin":"B1","sku":"SKU-1","salesByAsin":{
"orderedProductSales":{"amount":120.5,"currencyCode":"USD"},"unitsOrdered":7,"totalOrderItems":6},
"trafficByAsin":{"sessions":60,"pageViews":90,"sessionPercentage":100.0}}]}
"""


def test_sales_and_traffic_parse_to_typed_frames():
    document = load_json_document(SALES_DOCUMENT)
    by_date = parse_records(list(sales_traffic_by_date(document)), SALES_TRAFFIC_BY_DATE,
                            {"marketplace_id": "ATVPDKIKX0DER"}).rows.to_dicts()[0]
    assert by_date["date"] == date(2026, 1, 2)
    assert by_date["ordered_product_sales"] == Decimal("120.50")
    assert (by_date["units_ordered"], by_date["sessions"], by_date["currency"]) == (7, 60, "USD")
    by_sku = parse_records(list(sales_traffic_by_sku(document)), SALES_TRAFFIC_BY_SKU,
                           {"marketplace_id": "ATVPDKIKX0DER", "day": "2026-01-02"}).rows.to_dicts()[0]
    assert (by_sku["sku"], by_sku["date"], by_sku["session_percentage"]) == ("SKU-1", date(2026, 1, 2), 100.0)


def test_a_record_without_a_required_value_is_quarantined_with_its_reason():
    records = [{"ShipmentId": None, "ShipmentStatus": "WORKING"}]
    parsed = parse_records(records, INBOUND_SHIPMENTS, {"marketplace_id": "ATVPDKIKX0DER",
                                                        "snapshot_at": "2026-01-02T00:00:00+00:00"})
    assert parsed.rows.height == 0
    assert "ShipmentId: missing" in parsed.quarantine["reason"][0]
