"""The money truth of the integration tests, from Amazon's RAW answers: listTransactions and
listFinancialEventGroups pages fetched with the real client, and Amazon's definitions applied here (which
P&L column a seller books each fee in, how a breakdown tree is read). Never the dbt SQL, the seed or the
sandbox's Python objects: these helpers are the independent side of every money assertion.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

CENT = Decimal("0.01")
TAX_CHARGES = {"Tax", "ShippingTax", "GiftWrapTax"}
CHARGEBACKS = {"Chargeback Refund", "A-to-z Guarantee Refund"}
# Amazon's fee names, by the P&L column a seller books them in (docs/amazon/spapi-money.md section 3).
FEE_COLUMNS = {
    "Commission": "referral_fees", "VariableClosingFee": "referral_fees", "FixedClosingFee": "referral_fees",
    "FBAPerUnitFulfillmentFee": "fulfilment_fees", "LowInventoryLevelFee": "fulfilment_fees",
    "DigitalServicesFee": "other_fees", "RefundCommission": "referral_fees",
    "FBAStorageFee": "storage_fees", "FBALongTermStorageFee": "aged_storage_fees",
    "FBAInboundPlacementServiceFee": "inbound_fees", "Subscription": "subscription",
    "CouponRedemptionFee": "coupons_deals", "CouponParticipationFee": "coupons_deals",
    "CouponPerformanceFee": "coupons_deals", "RunLightningDealFee": "coupons_deals",
    "DealParticipationFee": "coupons_deals", "DealPerformanceFee": "coupons_deals",
    "FBARemovalFee": "removal_disposal_fees", "FBADisposalFee": "removal_disposal_fees",
}
SHIPPED = {"Principal": "shipped_product_sales", "ShippingCharge": "shipped_shipping_credits",
           "GiftWrap": "shipped_gift_wrap_credits"}


def expected_column(transaction_type: str, description: str, path: str) -> str:
    """The P&L column a seller books a transaction line in, from Amazon's names (not from the seed)."""
    parts = path.split("/")
    top, name = parts[0], parts[1] if len(parts) > 1 else ""
    if top in ("AmazonFees", "Advertising") and parts[-1] == "Tax":
        return "vat_on_fees"  # EU: the VAT on a fee (parts[-1] == "Base" is the fee itself)
    if top == "ProductCharges" and name in TAX_CHARGES:
        return "tax_collected"
    if transaction_type == "Refund" and description in CHARGEBACKS:
        return "chargebacks_claims"
    if transaction_type == "Refund" and top in ("ProductCharges", "Promotions"):
        return "refunds"
    if top == "ProductCharges":
        return SHIPPED[name]
    if top == "Promotions":
        return "shipped_promotions"
    if top == "AmazonFees":
        return FEE_COLUMNS[name]
    if top == "Advertising":
        return "advertising"
    if top == "Reimbursements":
        return "reimbursements"
    if top == "Reserves":
        return "reserves_transfers"
    raise AssertionError(f"the sandbox serves money this test does not know: {transaction_type} {path}")


def amount_of(money: dict | None) -> Decimal:
    return Decimal(str((money or {}).get("currencyAmount", 0))).quantize(CENT)


def leaf_lines(transaction: dict) -> list[tuple[str, Decimal, str | None]]:
    """(path, amount, sku) of the transaction's leaves: the items' trees, or the transaction's own when no item
    has one (Amazon repeats the items' money summed at transaction level: read one level)."""
    def walk(nodes, prefix):
        for node in nodes or []:
            path = [*prefix, node["breakdownType"]]
            if node.get("breakdowns"):
                yield from walk(node["breakdowns"], path)
            else:
                yield "/".join(path), amount_of(node.get("breakdownAmount"))

    def sku_of(contexts):
        return next((c.get("sku") for c in contexts or [] if c.get("contextType") == "ProductContext"), None)

    items = transaction.get("items") or []
    if any(item.get("breakdowns") for item in items):
        return [(p, a, sku_of(item.get("contexts"))) for item in items for p, a in walk(item["breakdowns"], [])]
    sku = sku_of(items[0].get("contexts")) if len(items) == 1 else None
    return [(p, a, sku) for p, a in walk(transaction.get("breakdowns"), [])]


def related(transaction: dict, name: str) -> str | None:
    return next((r["relatedIdentifierValue"] for r in transaction.get("relatedIdentifiers") or []
                 if r["relatedIdentifierName"] == name), None)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _pages(connection, call, **arguments) -> list[dict]:
    """Every page of a listing, with the real client; throttling is waited out, and an access token that
    expired (the sandbox's clock runs 100x faster) is replaced."""
    from sp_api.base.exceptions import SellingApiForbiddenException, SellingApiRequestThrottledException

    pages, token = [], None
    while True:
        extra = {"nextToken": token} if token else {}
        for _ in range(50):
            try:
                payload = call(**arguments, **extra).payload
                break
            except SellingApiRequestThrottledException:
                time.sleep(0.2)
            except SellingApiForbiddenException:
                connection.forget_access_token()
        pages.append(payload)
        token = payload.get("nextToken") or payload.get("NextToken")
        if not token:
            return pages


def raw_transactions(connection, marketplace_id: str, start: datetime, end: datetime) -> list[dict]:
    from sp_api.api import FinancesV20240619

    client = connection.client(FinancesV20240619, marketplace_id)
    pages = _pages(connection, client.list_transactions, postedAfter=stamp(start), postedBefore=stamp(end),
                   marketplaceId=marketplace_id)
    return [t for page in pages for t in page.get("transactions") or []]


def raw_event_groups(connection, marketplace_id: str, since: datetime) -> list[dict]:
    from sp_api.api import FinancesV0

    client = connection.client(FinancesV0, marketplace_id)
    pages = _pages(connection, client.list_financial_event_groups, FinancialEventGroupStartedAfter=stamp(since))
    return [g for page in pages for g in page.get("FinancialEventGroupList") or []]


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
