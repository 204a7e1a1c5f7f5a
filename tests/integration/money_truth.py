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


def call_api(connection, call, *args, **kwargs):
    """One call with the real client; throttling is waited out, and an access token that expired (the sandbox's
    clock runs 100x faster) is replaced."""
    from sp_api.base.exceptions import SellingApiForbiddenException, SellingApiRequestThrottledException

    for attempt in range(100):
        try:
            return call(*args, **kwargs)
        except SellingApiRequestThrottledException:
            time.sleep(0.2)
        except SellingApiForbiddenException:
            if attempt > 5:
                raise
            connection.forget_access_token()
    raise AssertionError(f"{call.__name__} stayed throttled")


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


# The fee categories of fct_fees, by the P&L column a seller books the fee in (Amazon's taxonomy, section 3).
FEE_CATEGORY_OF_COLUMN = {
    "referral_fees": "referral", "fulfilment_fees": "fulfilment", "storage_fees": "storage",
    "aged_storage_fees": "aged_storage", "inbound_fees": "inbound", "removal_disposal_fees": "removal_disposal",
    "advertising": "advertising", "subscription": "subscription", "coupons_deals": "coupons_deals",
    "other_fees": "other", "vat_on_fees": "fee_tax",
}


def _download(connection, reports_client, document_id: str) -> str:
    """A report document's text: the presigned URL fetched here over HTTPS (gzip, charset from Content-Type)."""
    import gzip

    import httpx

    from orchestration.extract.connection import tls_context

    meta = call_api(connection, reports_client.get_report_document, document_id, download=False).payload
    with httpx.Client(verify=tls_context(connection.ca_file), timeout=120) as http:
        response = http.get(meta["url"])
    response.raise_for_status()
    charset = (response.headers.get("content-type") or "").partition("charset=")[2] or "utf-8"
    body = gzip.decompress(response.content) if meta.get("compressionAlgorithm") == "GZIP" else response.content
    return body.decode({"Cp1252": "cp1252"}.get(charset, charset))


def _tsv(text: str) -> list[dict]:
    lines = text.splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:] if line]


def raw_report_rows(connection, marketplace_id: str, report_type: str, start: datetime, end: datetime) -> list[dict]:
    """createReport over [start, end), wait, download: the flat file's rows as Amazon wrote them (strings)."""
    from sp_api.api import Reports

    client = connection.client(Reports, marketplace_id)
    report_id = call_api(connection, client.create_report, reportType=report_type, marketplaceIds=[marketplace_id],
                         dataStartTime=start.isoformat(), dataEndTime=end.isoformat()).payload["reportId"]
    for _ in range(600):
        report = call_api(connection, client.get_report, report_id).payload
        if report["processingStatus"] in ("DONE", "CANCELLED", "FATAL"):
            break
        time.sleep(0.1)
    assert report["processingStatus"] in ("DONE", "CANCELLED"), report
    return _tsv(_download(connection, client, report["reportDocumentId"])) if report.get("reportDocumentId") else []


def raw_settlements(connection, marketplace_id: str, since: datetime, until: datetime) -> list[list[dict]]:
    """Every settlement report Amazon published in the window (getReports), each as its rows."""
    from sp_api.api import Reports

    client = connection.client(Reports, marketplace_id)
    listed = call_api(connection, client.get_reports, reportTypes=["GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"],
                                processingStatuses=["DONE"], marketplaceIds=[marketplace_id],
                                createdSince=since.isoformat(), createdUntil=until.isoformat(), pageSize=100).payload
    return [_tsv(_download(connection, client, r["reportDocumentId"])) for r in listed.get("reports", [])
            if when(r["createdTime"]) < until]
