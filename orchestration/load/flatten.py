"""Flattens JSON documents (API pages, the sales-and-traffic report, Data Kiosk's JSONL) into records for
load/parse.py.

Each flattener names the fields it reads, one by one: nothing is copied wholesale out of Amazon's JSON,
so a field Amazon adds tomorrow (or a ship-from address) never reaches a record. Records are keyed by
the `source` names of the dataset's columns (load/datasets.py); parse_records then types them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation

from orchestration.load.datasets import DATASETS, Dataset
from orchestration.load.fee_taxonomy import PATH_SEPARATOR, TRANSACTIONS, FeeTaxonomy, fee_taxonomy


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


# -- Finances 2024-06-19 listTransactions ---------------------------------------------------------------

# The related identifiers the marts join on, by Amazon's name -> our record field.
TRANSACTION_IDENTIFIERS = {
    "ORDER_ID": "orderId",
    "SETTLEMENT_ID": "settlementId",
    "FINANCIAL_EVENT_GROUP_ID": "financialEventGroupId",
    "DEFERRED_TRANSACTION_ID": "deferredTransactionId",
    "RELEASE_TRANSACTION_ID": "releaseTransactionId",
}
CLASSIFIED = "classified"
UNCLASSIFIED = "unclassified"
# Path of the line that carries money a breakdown tree does not explain (its parts do not add up to it).
REMAINDER = "(remainder)"
# Path of an item or transaction that has an amount but no breakdown at all.
UNBROKEN = "(no breakdown)"


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _money_of(money: dict | None) -> tuple[Decimal | None, str | None]:
    money = money or {}
    return _decimal(money.get("currencyAmount")), money.get("currencyCode")


def _contexts(contexts: list | None) -> dict[str, dict]:
    """The first context of each type (ProductContext, DeferredContext, ...)."""
    found: dict[str, dict] = {}
    for context in contexts or []:
        if isinstance(context, dict) and context.get("contextType"):
            found.setdefault(context["contextType"], context)
    return found


def _leaves(breakdowns: list | None, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Decimal, str | None]]:
    """(path, amount, currency) of every leaf of a breakdown tree; where a node's parts do not add up to the
    node, the difference is one more leaf under it, so the leaves always sum to the top of the tree."""
    for breakdown in breakdowns or []:
        if not isinstance(breakdown, dict):
            continue
        here = (*path, str(breakdown.get("breakdownType") or "(unnamed)"))
        amount, currency = _money_of(breakdown.get("breakdownAmount"))
        children = [b for b in breakdown.get("breakdowns") or [] if isinstance(b, dict)]
        if not children:
            yield PATH_SEPARATOR.join(here), amount or Decimal(0), currency
            continue
        parts = list(_leaves(children, here))
        yield from parts
        if amount is not None:
            gap = amount - sum((p[1] for p in parts), Decimal(0))
            if gap:
                yield PATH_SEPARATOR.join((*here, REMAINDER)), gap, currency


def _tree_total(breakdowns: list | None) -> Decimal:
    return sum((_money_of(b.get("breakdownAmount"))[0] or Decimal(0)
                for b in breakdowns or [] if isinstance(b, dict)), Decimal(0))


def _item_lines(item: dict) -> list[tuple[str, Decimal, str | None]]:
    total, currency = _money_of(item.get("totalAmount"))
    lines = list(_leaves(item.get("breakdowns")))
    if not lines and total:
        lines = [(UNBROKEN, total, currency)]
    return lines


def _transaction_lines(transaction: dict, total: Decimal) -> list[tuple[int, dict, str, Decimal, str | None]]:
    """(item number, item, path, amount, currency) of the transaction's money, item 0 = the transaction itself.

    Amazon puts the money either in the items' breakdowns (shipments, refunds) or in the transaction's own
    breakdowns (reimbursements, whose items have none: a single item still names the SKU); when both are
    present they are the same tree summed (docs/sandbox.md, Money world), so one side is read, never both: the
    side that adds up to the total, the items first since they carry the SKU.
    """
    items = [i for i in transaction.get("items") or [] if isinstance(i, dict)]
    own = transaction.get("breakdowns")
    # A single item is what the transaction-level money is about (a reimbursement of one FNSKU).
    whole = (0, items[0] if len(items) == 1 else {})
    from_transaction = [(*whole, *line) for line in _leaves(own)]
    if from_transaction and not any(item.get("breakdowns") for item in items):
        return from_transaction
    from_items = [(n, item, *line) for n, item in enumerate(items, start=1) for line in _item_lines(item)]
    items_sum = sum((line[3] for line in from_items), Decimal(0))
    if from_items and (items_sum == total or not from_transaction or _tree_total(own) != total):
        return from_items
    return from_transaction


def finance_transactions(document: dict, taxonomy: FeeTaxonomy | None = None) -> Iterator[dict]:
    """One record per leaf breakdown amount of every transaction; the records of a transaction always sum to
    its totalAmount (an unexplained difference is a `(remainder)` line). A line the fee taxonomy does not map
    (a new transaction type, breakdown or description) is kept with its raw type, path and amount, marked
    `unclassified`."""
    taxonomy = taxonomy or fee_taxonomy()
    for page in document.get("pages", []):
        payload = page.get("payload", page) if isinstance(page, dict) else {}
        for transaction in (payload or {}).get("transactions") or []:
            if isinstance(transaction, dict):
                yield from _transaction_records(transaction, taxonomy)


def _transaction_records(transaction: dict, taxonomy: FeeTaxonomy) -> Iterator[dict]:
    total, total_currency = _money_of(transaction.get("totalAmount"))
    total = total if total is not None else Decimal(0)
    identifiers = {field: None for field in TRANSACTION_IDENTIFIERS.values()}
    for related in transaction.get("relatedIdentifiers") or []:
        field = TRANSACTION_IDENTIFIERS.get((related or {}).get("relatedIdentifierName"))
        if field and identifiers[field] is None:
            identifiers[field] = related.get("relatedIdentifierValue")
    own_contexts = _contexts(transaction.get("contexts"))
    marketplace = (transaction.get("marketplaceDetails") or {}).get("marketplaceId") \
        or (transaction.get("sellingPartnerMetadata") or {}).get("marketplaceId")
    common = {
        "transactionId": transaction.get("transactionId"),
        "transactionType": transaction.get("transactionType"),
        "transactionStatus": transaction.get("transactionStatus"),
        "description": transaction.get("description"),
        "postedDate": transaction.get("postedDate"),
        "marketplaceId": marketplace,
        **identifiers,
        "transactionTotal": str(total),
        "transactionCurrency": total_currency,
    }
    lines = _transaction_lines(transaction, total)
    explained = sum((line[3] for line in lines), Decimal(0))
    if explained != total or not lines:
        lines.append((0, {}, REMAINDER if lines else UNBROKEN, total - explained, total_currency))
    for number, (item_number, item, path, amount, currency) in enumerate(lines, start=1):
        contexts = {**own_contexts, **_contexts(item.get("contexts"))}
        product = contexts.get("ProductContext") or {}
        deferred = contexts.get("DeferredContext") or {}
        known = path not in (REMAINDER, UNBROKEN) and not path.endswith(REMAINDER) and taxonomy.knows(
            TRANSACTIONS, common["transactionType"], common["description"], path)
        yield {
            **common,
            "lineNumber": number,
            "itemNumber": item_number,
            "sku": product.get("sku"),
            "asin": product.get("asin"),
            "quantity": product.get("quantityShipped"),
            "fulfillmentNetwork": product.get("fulfillmentNetwork"),
            "deferralReason": deferred.get("deferralReason"),
            "maturityDate": deferred.get("maturityDate"),
            "breakdownPath": path,
            "amount": str(amount),
            "currency": currency or total_currency,
            "lineStatus": CLASSIFIED if known else UNCLASSIFIED,
        }


def financial_event_groups(document: dict) -> Iterator[dict]:
    """One record per group; the payment instrument's account tail and the bank trace id are not read."""
    for page in document.get("pages", []):
        for group in (page or {}).get("FinancialEventGroupList") or []:
            original, original_currency = _amount(group.get("OriginalTotal"))
            converted, converted_currency = _amount(group.get("ConvertedTotal"))
            beginning, _ = _amount(group.get("BeginningBalance"))
            yield {
                "FinancialEventGroupId": group.get("FinancialEventGroupId"),
                "FinancialEventGroupStart": group.get("FinancialEventGroupStart"),
                "FinancialEventGroupEnd": group.get("FinancialEventGroupEnd"),
                "ProcessingStatus": group.get("ProcessingStatus"),
                "FundTransferStatus": group.get("FundTransferStatus"),
                "FundTransferDate": group.get("FundTransferDate"),
                "OriginalTotal": original,
                "OriginalCurrency": original_currency,
                "ConvertedTotal": converted,
                "ConvertedCurrency": converted_currency,
                "BeginningBalance": beginning,
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


def kiosk_sales_traffic_by_date(records: Iterator[dict]) -> Iterator[dict]:
    """Data Kiosk's salesAndTrafficByDate (DAY): a record per marketplace and day, the report's fields."""
    for record in records:
        yield {"date": record.get("startDate"), "@marketplace_id": record.get("marketplaceId"),
               **_sales_and_traffic(record.get("sales") or {}, record.get("traffic") or {})}


def kiosk_sales_traffic_by_sku(records: Iterator[dict]) -> Iterator[dict]:
    """Data Kiosk's salesAndTrafficByAsin (SKU) over one day: a record per marketplace and SKU."""
    for record in records:
        yield {
            "@day": record.get("startDate"),
            "@marketplace_id": record.get("marketplaceId"),
            "sku": record.get("sku"),
            "parentAsin": record.get("parentAsin"),
            "childAsin": record.get("childAsin"),
            **_sales_and_traffic(record.get("sales") or {}, record.get("traffic") or {}),
        }


KIOSK_FLATTENERS: dict[str, Callable[[Iterator[dict]], Iterator[dict]]] = {
    "sales_traffic_by_date": kiosk_sales_traffic_by_date,
    "sales_traffic_by_sku": kiosk_sales_traffic_by_sku,
}
# Documents that come from Data Kiosk carry their query as report type (Dataset.data_kiosk).
KIOSK_DOCUMENTS = frozenset(d.data_kiosk for d in DATASETS.values() if d.data_kiosk)

FLATTENERS: dict[str, Callable[[dict], Iterator[dict]]] = {
    "financial_events": financial_events,
    "finance_transactions": finance_transactions,
    "financial_event_groups": financial_event_groups,
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


def jsonl(text: str) -> Iterator[dict]:
    """One JSON object per non-blank line (Data Kiosk's data documents)."""
    for line in text.splitlines():
        if line.strip():
            yield json.loads(line)


def flatten(dataset: Dataset, report_type: str, text: str) -> Iterator[dict]:
    """The dataset's records in a document: a Data Kiosk page of its own query, the report's JSON or an API
    page; none from a Data Kiosk page of another dataset's query (one extraction lands both)."""
    if report_type in KIOSK_DOCUMENTS:
        return KIOSK_FLATTENERS[dataset.name](jsonl(text)) if report_type == dataset.data_kiosk else iter(())
    return FLATTENERS[dataset.name](load_json_document(text))
