"""The raw tables we load and, for each, the explicit column allowlist (the PII firewall's rule book).

A column not listed here never leaves memory: buyer names, e-mails, phones, street addresses, cities,
postal codes, tax ids and tracking numbers are simply not in any allowlist. Location is kept no finer
than state/country. A column whose `source` starts with `@` is not read from the document but from the
document's context (the marketplace it was requested for, the moment a snapshot was taken, the
marketplace's currency); JSON datasets are first flattened (load/flatten.py) into records keyed by
`source`, then typed exactly like a flat file.

docs/datasets.md describes every table; keep the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from orchestration.compliance.classification import Classification
from orchestration.retain.policy import AMAZON_MAX_AGE_MONTHS, LegalBasis, check_max_age

MONEY = pl.Decimal(14, 2)
TIMESTAMP = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Column:
    source: str  # header name in Amazon's document, flattened field name, or @context key
    name: str  # column name in our raw table
    dtype: pl.DataType
    required: bool = False  # a row without a value here is quarantined
    sql_type: str = "text"


@dataclass(frozen=True)
class Dataset:
    name: str  # raw table name, also the Dagster asset name
    report_type: str  # the SP-API report type, or the API operation for JSON API datasets
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # natural key inside one partition
    partition_column: str | None  # the column whose UTC day is the partition (None: a snapshot day)
    classification: Classification  # shown in lineage, the access log and the compliance report (a label is checked)
    default_charset: str = "utf-8"
    known_pii: tuple[str, ...] = field(default=())  # source fields we know carry PII (documentation + tests)
    document_format: str = "tsv"  # tsv (flat-file report) or json (flattened by load/flatten.py)
    description: str = ""
    # Columns Amazon writes once per group (a settlement's currency and dates sit on its summary row
    # only): (column, group column) pairs filled onto every row of the group at load.
    filled_within: tuple[tuple[str, str], ...] = ()
    # Retention (docs/retention.md): a partition older than this many calendar months is removed. Above
    # Amazon's 18 months only with the statute that requires it (`legal_basis`); checked when the entry is made.
    max_age_months: int = AMAZON_MAX_AGE_MONTHS
    legal_basis: LegalBasis | None = None
    # The Data Kiosk query that serves the dataset too (`<dataset>.<query>` of Amazon's GraphQL schema), whose
    # JSONL records carry the same fields as the report's JSON (load/flatten.py reads both).
    data_kiosk: str | None = None

    def __post_init__(self) -> None:
        check_max_age(self.name, self.max_age_months, self.legal_basis)
        object.__setattr__(self, "classification", Classification(self.classification))  # "commercial" -> ranked

    @property
    def allowlist(self) -> set[str]:
        return {c.source for c in self.columns}

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _snake(source: str) -> str:
    return source.lstrip("@").replace("-", "_")


def _money(source: str, name: str | None = None) -> Column:
    return Column(source, name or _snake(source), MONEY, sql_type="numeric(14,2)")


def _text(source: str, required: bool = False, name: str | None = None) -> Column:
    return Column(source, name or _snake(source), pl.Utf8, required=required)


def _int(source: str, required: bool = False, name: str | None = None) -> Column:
    return Column(source, name or _snake(source), pl.Int64, required, "bigint")


def _time(source: str, required: bool = False, name: str | None = None) -> Column:
    return Column(source, name or _snake(source), TIMESTAMP, required, "timestamptz")


def _float(source: str, name: str | None = None) -> Column:
    return Column(source, name or _snake(source), pl.Float64, sql_type="double precision")


def _bool(source: str, name: str | None = None) -> Column:
    return Column(source, name or _snake(source), pl.Boolean, sql_type="boolean")


def _date(source: str, required: bool = False, name: str | None = None) -> Column:
    return Column(source, name or _snake(source), pl.Date, required, "date")


MARKETPLACE = _text("@marketplace_id", required=True)
SNAPSHOT_AT = _time("@snapshot_at", required=True)
MARKETPLACE_CURRENCY = _text("@currency", name="currency")

ORDERS = Dataset(
    name="orders",
    report_type="GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL",
    columns=(
        _text("amazon-order-id", required=True),
        _text("merchant-order-id"),
        _time("purchase-date", required=True),
        _time("last-updated-date"),
        _text("order-status", required=True),
        _text("fulfillment-channel"),
        _text("sales-channel"),
        _text("order-channel"),
        _text("ship-service-level"),
        _text("product-name"),
        _text("sku", required=True),
        _text("asin"),
        _text("item-status"),
        _int("quantity", required=True),
        _text("currency"),
        _money("item-price"),
        _money("item-tax"),
        _money("shipping-price"),
        _money("shipping-tax"),
        _money("gift-wrap-price"),
        _money("gift-wrap-tax"),
        _money("item-promotion-discount"),
        _money("ship-promotion-discount"),
        _text("ship-state"),
        _text("ship-country"),
        _text("promotion-ids"),
        _bool("is-business-order"),
        _text("price-designation"),
    ),
    key=("amazon_order_id", "sku"),
    partition_column="purchase_date",
    classification="financial",
    known_pii=("ship-city", "ship-postal-code", "cpf", "purchase-order-number"),
    description="one row per order item purchased on the partition day",
)

SETTLEMENTS = Dataset(
    name="settlements",
    report_type="GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2",
    columns=(
        _text("settlement-id", required=True),
        _time("settlement-start-date"),
        _time("settlement-end-date"),
        _time("deposit-date"),
        _money("total-amount"),
        _text("currency"),
        _text("transaction-type"),
        _text("order-id"),
        _text("merchant-order-id"),
        _text("adjustment-id"),
        _text("shipment-id"),
        _text("marketplace-name"),
        _text("amount-type"),
        _text("amount-description"),
        _money("amount"),
        _text("fulfillment-id"),
        _date("posted-date"),
        _time("posted-date-time"),
        _text("order-item-code"),
        _text("merchant-order-item-id"),
        _text("merchant-adjustment-item-id"),
        _text("sku"),
        _int("quantity-purchased"),
        _text("promotion-id"),
        MARKETPLACE,
    ),
    key=(
        "settlement_id", "transaction_type", "order_id", "adjustment_id", "order_item_code",
        "amount_type", "amount_description", "promotion_id",
    ),
    partition_column=None,  # the UTC day Amazon published the report (its createdTime)
    classification="financial",
    filled_within=tuple(
        (column, "settlement_id")
        for column in ("currency", "settlement_start_date", "settlement_end_date", "deposit_date")
    ),
    description="every row of every settlement report Amazon published on the partition day",
)

FINANCIAL_EVENTS = Dataset(
    name="financial_events",
    report_type="listFinancialEvents",
    columns=(
        _time("PostedDate", required=True, name="posted_date"),
        _text("EventType", required=True, name="event_type"),
        _text("AmazonOrderId", required=True, name="amazon_order_id"),
        _text("SellerOrderId", name="seller_order_id"),
        _text("MarketplaceName", name="marketplace_name"),
        _text("OrderItemId", name="order_item_id"),
        _text("AdjustmentItemId", name="adjustment_item_id"),
        _text("SellerSKU", name="sku"),
        _int("QuantityShipped", name="quantity"),
        _text("LineKind", required=True, name="line_kind"),
        _text("AmountType", required=True, name="amount_type"),
        _text("PromotionId", name="promotion_id"),
        _money("Amount", name="amount"),
        _text("CurrencyCode", required=True, name="currency"),
    ),
    key=("event_type", "amazon_order_id", "order_item_id", "adjustment_item_id", "line_kind", "amount_type",
         "promotion_id"),
    partition_column="posted_date",
    classification="financial",
    document_format="json",
    description="one row per charge, fee or promotion line of the money events posted on the partition day",
)

# Finances 2024-06-19 amounts are BigDecimal: kept to six places, so that a transaction's lines add up to its
# total exactly (two places would round each line).
EXACT_MONEY = pl.Decimal(18, 6)


def _exact_money(source: str, name: str) -> Column:
    return Column(source, name, EXACT_MONEY, sql_type="numeric(18,6)")


FINANCE_TRANSACTIONS = Dataset(
    name="finance_transactions",
    report_type="listTransactions",
    columns=(
        _text("transactionId", required=True, name="transaction_id"),
        _int("lineNumber", required=True, name="transaction_line"),
        _text("transactionType", name="transaction_type"),
        _text("transactionStatus", name="transaction_status"),
        _text("description"),
        _time("postedDate", required=True, name="posted_date"),
        _text("marketplaceId", name="marketplace_id"),
        _text("orderId", name="order_id"),
        _text("settlementId", name="settlement_id"),
        _text("financialEventGroupId", name="financial_event_group_id"),
        _text("deferredTransactionId", name="deferred_transaction_id"),
        _text("releaseTransactionId", name="release_transaction_id"),
        _int("itemNumber", name="item_number"),
        _text("sku"),
        _text("asin"),
        _int("quantity"),
        _text("fulfillmentNetwork", name="fulfillment_network"),
        _text("deferralReason", name="deferral_reason"),
        _time("maturityDate", name="maturity_date"),
        _text("breakdownPath", required=True, name="breakdown_path"),
        _exact_money("amount", "amount"),
        _text("currency", required=True),
        _text("lineStatus", required=True, name="line_status"),
        _exact_money("transactionTotal", "transaction_total"),
        _text("transactionCurrency", name="transaction_currency"),
    ),
    key=("transaction_id", "transaction_line"),
    partition_column="posted_date",
    classification="financial",
    document_format="json",
    description="one row per leaf breakdown amount of the Finances transactions posted on the partition day; "
    "a transaction's rows sum to its total, lines the fee taxonomy does not map are marked unclassified",
)

FINANCIAL_EVENT_GROUPS = Dataset(
    name="financial_event_groups",
    report_type="listFinancialEventGroups",
    columns=(
        _text("FinancialEventGroupId", required=True, name="financial_event_group_id"),
        _time("FinancialEventGroupStart", required=True, name="group_start"),
        _time("FinancialEventGroupEnd", name="group_end"),
        _text("ProcessingStatus", name="processing_status"),
        _text("FundTransferStatus", name="fund_transfer_status"),
        _time("FundTransferDate", name="fund_transfer_date"),
        _money("OriginalTotal", name="original_total"),
        _text("OriginalCurrency", name="currency"),
        _money("ConvertedTotal", name="converted_total"),
        _text("ConvertedCurrency", name="converted_currency"),
        _money("BeginningBalance", name="beginning_balance"),
    ),
    key=("financial_event_group_id",),
    partition_column="group_start",
    classification="financial",
    document_format="json",
    known_pii=("AccountTail", "TraceId"),
    description="the financial event groups (one per settlement and marketplace: period, total, deposit) that "
    "started on the partition day, with their status when asked",
)

INVENTORY_SNAPSHOTS = Dataset(
    name="inventory_snapshots",
    report_type="GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA",
    columns=(
        _text("sku", required=True),
        _text("fnsku"),
        _text("asin"),
        _text("product-name"),
        _text("condition"),
        _money("your-price"),
        MARKETPLACE_CURRENCY,
        _text("mfn-listing-exists"),
        _int("mfn-fulfillable-quantity"),
        _text("afn-listing-exists"),
        _int("afn-warehouse-quantity"),
        _int("afn-fulfillable-quantity"),
        _int("afn-unsellable-quantity"),
        _int("afn-reserved-quantity"),
        _int("afn-total-quantity"),
        _float("per-unit-volume"),
        _int("afn-inbound-working-quantity"),
        _int("afn-inbound-shipped-quantity"),
        _int("afn-inbound-receiving-quantity"),
        _int("afn-researching-quantity"),
        _int("afn-reserved-future-supply"),
        _int("afn-future-supply-buyable"),
        MARKETPLACE,
        SNAPSHOT_AT,
    ),
    key=("marketplace_id", "sku"),
    partition_column=None,
    classification="operational",
    description="FBA inventory per SKU and marketplace as the report shows it at snapshot_at",
)

INVENTORY_SUMMARIES = Dataset(
    name="inventory_summaries",
    report_type="getInventorySummaries",
    columns=(
        _text("sellerSku", required=True, name="sku"),
        _text("fnSku", name="fnsku"),
        _text("asin"),
        _text("productName", name="product_name"),
        _text("condition"),
        _time("lastUpdatedTime", name="last_updated_time"),
        _int("totalQuantity", name="total_quantity"),
        _int("fulfillableQuantity", name="fulfillable_quantity"),
        _int("inboundWorkingQuantity", name="inbound_working_quantity"),
        _int("inboundShippedQuantity", name="inbound_shipped_quantity"),
        _int("inboundReceivingQuantity", name="inbound_receiving_quantity"),
        _int("totalReservedQuantity", name="reserved_quantity"),
        _int("pendingCustomerOrderQuantity", name="pending_customer_order_quantity"),
        _int("pendingTransshipmentQuantity", name="pending_transshipment_quantity"),
        _int("fcProcessingQuantity", name="fc_processing_quantity"),
        _int("totalResearchingQuantity", name="researching_quantity"),
        _int("totalUnfulfillableQuantity", name="unfulfillable_quantity"),
        MARKETPLACE,
        SNAPSHOT_AT,
    ),
    key=("marketplace_id", "sku"),
    partition_column=None,
    classification="operational",
    document_format="json",
    description="FBA Inventory API summaries (details=true) per SKU and marketplace at snapshot_at",
)

INBOUND_SHIPMENTS = Dataset(
    name="inbound_shipments",
    report_type="getShipments",
    columns=(
        _text("ShipmentId", required=True, name="shipment_id"),
        _text("ShipmentName", name="shipment_name"),
        _text("DestinationFulfillmentCenterId", name="destination_fulfillment_center_id"),
        _text("ShipmentStatus", required=True, name="shipment_status"),
        _text("LabelPrepType", name="label_prep_type"),
        _bool("AreCasesRequired", name="are_cases_required"),
        _text("BoxContentsSource", name="box_contents_source"),
        _text("ShipFromCountryCode", name="ship_from_country"),
        _text("ShipFromStateOrProvinceCode", name="ship_from_state"),
        MARKETPLACE,
        SNAPSHOT_AT,
    ),
    key=("marketplace_id", "shipment_id"),
    partition_column=None,
    classification="operational",
    document_format="json",
    known_pii=("ShipFromAddress.Name", "ShipFromAddress.AddressLine1", "ShipFromAddress.AddressLine2",
               "ShipFromAddress.City", "ShipFromAddress.PostalCode"),
    description="inbound shipments to FBA updated in the last 90 days, with their status at snapshot_at",
)

LISTINGS = Dataset(
    name="listings",
    report_type="GET_MERCHANT_LISTINGS_ALL_DATA",
    columns=(
        _text("seller-sku", required=True),
        _text("listing-id"),
        _text("asin1", name="asin"),
        _text("item-name"),
        _money("price"),
        MARKETPLACE_CURRENCY,
        _int("quantity"),
        _time("open-date"),
        _text("item-condition"),
        _text("product-id"),
        _text("product-id-type"),
        _text("fulfillment-channel"),
        _text("status"),
        _text("merchant-shipping-group"),
        _int("pending-quantity"),
        MARKETPLACE,
        SNAPSHOT_AT,
    ),
    key=("marketplace_id", "seller_sku"),
    partition_column=None,
    classification="commercial",
    default_charset="utf-8",
    description="every listed SKU with its price at snapshot_at",
)

ESTIMATED_FEES = Dataset(
    name="estimated_fees",
    report_type="GET_FBA_ESTIMATED_FBA_FEES_TXT_DATA",
    columns=(
        _text("sku", required=True),
        _text("fnsku"),
        _text("asin"),
        _text("product-group"),
        _text("brand"),
        _text("fulfilled-by"),
        _money("your-price"),
        _money("sales-price"),
        _float("longest-side"),
        _float("median-side"),
        _float("shortest-side"),
        _float("length-and-girth"),
        _text("unit-of-dimension"),
        _float("item-package-weight"),
        _text("unit-of-weight"),
        _text("product-size-tier"),
        _text("currency"),
        _money("estimated-fee-total"),
        _money("estimated-referral-fee-per-unit"),
        _money("estimated-variable-closing-fee"),
        _money("estimated-order-handling-fee-per-order"),
        _money("estimated-pick-pack-fee-per-unit"),
        _money("estimated-weight-handling-fee-per-unit"),
        _money("expected-fulfillment-fee-per-unit"),
        MARKETPLACE,
        SNAPSHOT_AT,
    ),
    key=("marketplace_id", "sku"),
    partition_column=None,
    classification="commercial",
    description="Amazon's estimated FBA fees per listed AFN SKU at snapshot_at",
)

SALES_TRAFFIC_BY_DATE = Dataset(
    name="sales_traffic_by_date",
    report_type="GET_SALES_AND_TRAFFIC_REPORT",
    columns=(
        _date("date", required=True),
        _money("orderedProductSales", name="ordered_product_sales"),
        _money("orderedProductSalesB2B", name="ordered_product_sales_b2b"),
        _text("currencyCode", required=True, name="currency"),
        _int("unitsOrdered", name="units_ordered"),
        _int("unitsOrderedB2B", name="units_ordered_b2b"),
        _int("totalOrderItems", name="total_order_items"),
        _int("totalOrderItemsB2B", name="total_order_items_b2b"),
        _int("unitsRefunded", name="units_refunded"),
        _float("refundRate", name="refund_rate"),
        _money("shippedProductSales", name="shipped_product_sales"),
        _int("unitsShipped", name="units_shipped"),
        _int("ordersShipped", name="orders_shipped"),
        _int("browserSessions", name="browser_sessions"),
        _int("mobileAppSessions", name="mobile_app_sessions"),
        _int("sessions"),
        _int("sessionsB2B", name="sessions_b2b"),
        _int("browserPageViews", name="browser_page_views"),
        _int("mobileAppPageViews", name="mobile_app_page_views"),
        _int("pageViews", name="page_views"),
        _int("pageViewsB2B", name="page_views_b2b"),
        _float("buyBoxPercentage", name="buy_box_percentage"),
        _float("unitSessionPercentage", name="unit_session_percentage"),
        _float("orderItemSessionPercentage", name="order_item_session_percentage"),
        MARKETPLACE,
    ),
    key=("marketplace_id", "date"),
    partition_column="date",
    classification="commercial",
    document_format="json",
    description="sales and traffic per marketplace and UTC day (salesAndTrafficByDate)",
    data_kiosk="analytics_salesAndTraffic_2024_04_24.salesAndTrafficByDate",
)

SALES_TRAFFIC_BY_SKU = Dataset(
    name="sales_traffic_by_sku",
    report_type="GET_SALES_AND_TRAFFIC_REPORT",
    columns=(
        _date("@day", required=True, name="date"),
        _text("sku", required=True),
        _text("parentAsin", name="parent_asin"),
        _text("childAsin", name="child_asin"),
        _money("orderedProductSales", name="ordered_product_sales"),
        _money("orderedProductSalesB2B", name="ordered_product_sales_b2b"),
        _text("currencyCode", name="currency"),
        _int("unitsOrdered", name="units_ordered"),
        _int("unitsOrderedB2B", name="units_ordered_b2b"),
        _int("totalOrderItems", name="total_order_items"),
        _int("totalOrderItemsB2B", name="total_order_items_b2b"),
        _int("browserSessions", name="browser_sessions"),
        _int("mobileAppSessions", name="mobile_app_sessions"),
        _int("sessions"),
        _int("sessionsB2B", name="sessions_b2b"),
        _int("browserPageViews", name="browser_page_views"),
        _int("mobileAppPageViews", name="mobile_app_page_views"),
        _int("pageViews", name="page_views"),
        _int("pageViewsB2B", name="page_views_b2b"),
        _float("buyBoxPercentage", name="buy_box_percentage"),
        _float("unitSessionPercentage", name="unit_session_percentage"),
        _float("sessionPercentage", name="session_percentage"),
        _float("pageViewsPercentage", name="page_views_percentage"),
        MARKETPLACE,
    ),
    key=("marketplace_id", "date", "sku"),
    partition_column="date",
    classification="commercial",
    document_format="json",
    description="sales and traffic per marketplace, UTC day and SKU (salesAndTrafficByAsin, SKU granularity)",
    data_kiosk="analytics_salesAndTraffic_2024_04_24.salesAndTrafficByAsin",
)

FULFILLED_SHIPMENTS = Dataset(
    name="fulfilled_shipments",
    report_type="GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL",
    columns=(
        _text("amazon-order-id", required=True),
        _text("merchant-order-id"),
        _text("shipment-id", required=True),
        _text("shipment-item-id", required=True),
        _text("amazon-order-item-id"),
        _text("merchant-order-item-id"),
        _time("purchase-date"),
        _time("payments-date"),
        _time("shipment-date", required=True),
        _time("reporting-date"),
        _text("sku", required=True),
        _int("quantity-shipped", required=True),
        _text("currency"),
        _money("item-price"),
        _money("item-tax"),
        _money("shipping-price"),
        _money("shipping-tax"),
        _money("gift-wrap-price"),
        _money("gift-wrap-tax"),
        _money("item-promotion-discount"),
        _money("ship-promotion-discount"),
        _text("ship-service-level"),
        _text("ship-state"),
        _text("ship-country"),
        _text("carrier"),
        _time("estimated-arrival-date"),
        _text("fulfillment-center-id"),
        _text("fulfillment-channel"),
        _text("sales-channel"),
    ),
    key=("shipment_item_id",),
    partition_column="shipment_date",
    classification="operational",
    known_pii=(
        "buyer-email", "buyer-name", "buyer-phone-number", "recipient-name", "ship-address-1", "ship-address-2",
        "ship-address-3", "ship-city", "ship-postal-code", "ship-phone-number", "bill-address-1",
        "bill-address-2", "bill-address-3", "bill-city", "bill-state", "bill-postal-code", "bill-country",
        "tracking-number", "product-name",
    ),
    description="fulfilment facts of every AFN item shipped on the partition day (no buyer or address data)",
)

# -- the FBA payment and inventory reports a P&L needs (docs/amazon/spapi-limits.md, section 4) ---------------

STORAGE_FEES = Dataset(
    name="storage_fees",
    report_type="GET_FBA_STORAGE_FEE_CHARGES_DATA",
    columns=(
        _text("asin"),
        _text("fnsku", required=True),
        _text("fulfillment_center", required=True),
        _text("country_code"),
        _float("longest_side"),
        _float("median_side"),
        _float("shortest_side"),
        _text("measurement_units"),
        _float("weight"),
        _text("weight_units"),
        _float("item_volume"),
        _text("volume_units"),
        _text("product_size_tier"),
        _float("average_quantity_on_hand"),
        _float("average_quantity_pending_removal"),
        _float("estimated_total_item_volume"),
        _text("month_of_charge", required=True),
        Column("storage_rate", "storage_rate", pl.Decimal(14, 6), sql_type="numeric(14,6)"),
        _text("currency", required=True),
        _money("estimated_monthly_storage_fee"),
        _text("dangerous_goods_storage_type"),
        MARKETPLACE,
        SNAPSHOT_AT,
    ),
    key=("marketplace_id", "month_of_charge", "fnsku", "fulfillment_center"),
    partition_column=None,
    classification="financial",
    description="Amazon's monthly storage fee per FNSKU and fulfilment centre of the months charged recently, "
    "as the storage-fee report shows them at snapshot_at",
)

REIMBURSEMENTS = Dataset(
    name="reimbursements",
    report_type="GET_FBA_REIMBURSEMENTS_DATA",
    columns=(
        _time("approval-date", required=True),
        _text("reimbursement-id", required=True),
        _text("case-id"),
        _text("amazon-order-id"),
        _text("reason", required=True),
        _text("sku"),
        _text("fnsku"),
        _text("asin"),
        _text("condition"),
        _text("currency-unit", name="currency", required=True),
        _money("amount-per-unit"),
        _money("amount-total"),
        _int("quantity-reimbursed-cash"),
        _int("quantity-reimbursed-inventory"),
        _int("quantity-reimbursed-total"),
        _text("original-reimbursement-id"),
        _text("original-reimbursement-type"),
        MARKETPLACE,
    ),
    key=("reimbursement_id", "sku"),
    partition_column="approval_date",
    classification="financial",
    description="every FBA reimbursement (and reversal) Amazon approved on the partition day",
)

CUSTOMER_RETURNS = Dataset(
    name="customer_returns",
    report_type="GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA",
    columns=(
        _time("return-date", required=True),
        # An order id is kept as the orders table keeps it: it names the order, not the buyer.
        _text("order-id", required=True, name="amazon_order_id"),
        _text("sku", required=True),
        _text("asin"),
        _text("fnsku"),
        _int("quantity", required=True),
        _text("fulfillment-center-id"),
        _text("detailed-disposition"),
        _text("reason"),
        _text("status"),
        MARKETPLACE,
    ),
    key=("amazon_order_id", "sku", "return_date", "detailed_disposition"),
    partition_column="return_date",
    classification="operational",
    # The buyer's comment is free text (a name, a phone number, anything): it never lands.
    known_pii=("customer-comments", "license-plate-number", "product-name"),
    description="every FBA unit buyers returned on the partition day, with its disposition (no buyer text)",
)

INVENTORY_LEDGER = Dataset(
    name="inventory_ledger",
    report_type="GET_LEDGER_SUMMARY_VIEW_DATA",
    columns=(
        _date("Date", required=True, name="date"),
        _text("FNSKU", required=True, name="fnsku"),
        _text("ASIN", name="asin"),
        _text("MSKU", required=True, name="sku"),
        _text("Disposition", required=True, name="disposition"),
        _int("Starting Warehouse Balance", name="starting_warehouse_balance"),
        _int("In Transit Between Warehouses", name="in_transit_between_warehouses"),
        _int("Receipts", name="receipts"),
        _int("Customer Shipments", name="customer_shipments"),
        _int("Customer Returns", name="customer_returns"),
        _int("Vendor Returns", name="vendor_returns"),
        _int("Warehouse Transfer In/Out", name="warehouse_transfer_in_out"),
        _int("Found", name="found"),
        _int("Lost", name="lost"),
        _int("Damaged", name="damaged"),
        _int("Disposed", name="disposed"),
        _int("Other Events", name="other_events"),
        _int("Ending Warehouse Balance", name="ending_warehouse_balance"),
        _int("Unknown Events", name="unknown_events"),
        _text("Location", name="location"),
        MARKETPLACE,
    ),
    key=("marketplace_id", "date", "fnsku", "disposition", "location"),
    partition_column="date",
    classification="operational",
    description="units per FNSKU and disposition on the partition day: starting and ending warehouse balance "
    "and every movement between (inventory ledger, summary view, daily, by country)",
)

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        ORDERS, SETTLEMENTS, FINANCIAL_EVENTS, FINANCE_TRANSACTIONS, FINANCIAL_EVENT_GROUPS, INVENTORY_SNAPSHOTS,
        INVENTORY_SUMMARIES, INBOUND_SHIPMENTS, LISTINGS, ESTIMATED_FEES, SALES_TRAFFIC_BY_DATE, SALES_TRAFFIC_BY_SKU,
        FULFILLED_SHIPMENTS, STORAGE_FEES, REIMBURSEMENTS, CUSTOMER_RETURNS, INVENTORY_LEDGER,
    )
}
