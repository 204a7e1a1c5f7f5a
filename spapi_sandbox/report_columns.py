"""The exact column headers of the flat-file reports the sandbox serves, as Amazon documents them."""

ALL_ORDERS = (
    "amazon-order-id merchant-order-id purchase-date last-updated-date order-status fulfillment-channel "
    "sales-channel order-channel ship-service-level product-name sku asin item-status quantity currency "
    "item-price item-tax shipping-price shipping-tax gift-wrap-price gift-wrap-tax item-promotion-discount "
    "ship-promotion-discount ship-city ship-state ship-postal-code ship-country promotion-ids cpf "
    "is-business-order purchase-order-number price-designation"
).split()

SETTLEMENT_V2 = (
    "settlement-id settlement-start-date settlement-end-date deposit-date total-amount currency "
    "transaction-type order-id merchant-order-id adjustment-id shipment-id marketplace-name amount-type "
    "amount-description amount fulfillment-id posted-date posted-date-time order-item-code "
    "merchant-order-item-id merchant-adjustment-item-id sku quantity-purchased"
).split()

FBA_MYI_UNSUPPRESSED = (
    "sku fnsku asin product-name condition your-price mfn-listing-exists mfn-fulfillable-quantity "
    "afn-listing-exists afn-warehouse-quantity afn-fulfillable-quantity afn-unsellable-quantity "
    "afn-reserved-quantity afn-total-quantity per-unit-volume afn-inbound-working-quantity "
    "afn-inbound-shipped-quantity afn-inbound-receiving-quantity afn-researching-quantity "
    "afn-reserved-future-supply afn-future-supply-buyable"
).split()

MERCHANT_LISTINGS_ALL = (
    "item-name item-description listing-id seller-sku price quantity open-date image-url item-is-marketplace "
    "product-id-type zshop-shipping-fee item-note item-condition zshop-category1 zshop-browse-path "
    "zshop-storefront-feature asin1 asin2 asin3 will-ship-internationally expedited-shipping zshop-boldface "
    "product-id bid-for-featured-placement add-delete pending-quantity fulfillment-channel "
    "merchant-shipping-group status"
).split()

FBA_ESTIMATED_FEES = (
    "sku fnsku asin product-name product-group brand fulfilled-by your-price sales-price longest-side "
    "median-side shortest-side length-and-girth unit-of-dimension item-package-weight unit-of-weight "
    "product-size-tier currency estimated-fee-total estimated-referral-fee-per-unit "
    "estimated-variable-closing-fee estimated-order-handling-fee-per-order estimated-pick-pack-fee-per-unit "
    "estimated-weight-handling-fee-per-unit expected-fulfillment-fee-per-unit"
).split()

AMAZON_FULFILLED_SHIPMENTS = (
    "amazon-order-id merchant-order-id shipment-id shipment-item-id amazon-order-item-id "
    "merchant-order-item-id "
    "purchase-date payments-date shipment-date reporting-date buyer-email buyer-name buyer-phone-number sku "
    "product-name quantity-shipped currency item-price item-tax shipping-price shipping-tax gift-wrap-price "
    "gift-wrap-tax ship-service-level recipient-name ship-address-1 ship-address-2 ship-address-3 ship-city "
    "ship-state ship-postal-code ship-country ship-phone-number bill-address-1 bill-address-2 bill-address-3 "
    "bill-city bill-state bill-postal-code bill-country item-promotion-discount ship-promotion-discount "
    "carrier tracking-number estimated-arrival-date fulfillment-center-id fulfillment-channel sales-channel"
).split()

# The FBA payment and inventory reports of docs/amazon/spapi-limits.md, section 4 "Headers" (the storage-fee
# header's "eligible/qualifies_for_inventory_discount" and "storage_utilization_ratio(_units)" are two columns each).
FBA_STORAGE_FEE_CHARGES = (
    "asin fnsku product_name fulfillment_center country_code longest_side median_side shortest_side "
    "measurement_units weight weight_units item_volume volume_units product_size_tier average_quantity_on_hand "
    "average_quantity_pending_removal estimated_total_item_volume month_of_charge storage_rate currency "
    "estimated_monthly_storage_fee dangerous_goods_storage_type eligible_for_inventory_discount "
    "qualifies_for_inventory_discount total_incentive_fee_amount breakdown_incentive_fee_amount "
    "average_quantity_customer_orders base_rate storage_utilization_ratio storage_utilization_ratio_units "
    "utilization_surcharge_rate"
).split()

FBA_REIMBURSEMENTS = (
    "approval-date reimbursement-id case-id amazon-order-id reason sku fnsku asin product-name condition "
    "currency-unit amount-per-unit amount-total quantity-reimbursed-cash quantity-reimbursed-inventory "
    "quantity-reimbursed-total original-reimbursement-id original-reimbursement-type"
).split()

FBA_CUSTOMER_RETURNS = (
    "return-date order-id sku asin fnsku product-name quantity fulfillment-center-id detailed-disposition reason "
    "status license-plate-number customer-comments"
).split()

# Column names with spaces, as Amazon writes them.
LEDGER_SUMMARY = [
    "Date", "FNSKU", "ASIN", "MSKU", "Title", "Disposition", "Starting Warehouse Balance",
    "In Transit Between Warehouses", "Receipts", "Customer Shipments", "Customer Returns", "Vendor Returns",
    "Warehouse Transfer In/Out", "Found", "Lost", "Damaged", "Disposed", "Other Events",
    "Ending Warehouse Balance", "Unknown Events", "Location",
]

assert len(ALL_ORDERS) == 32
assert len(SETTLEMENT_V2) == 23
assert len(FBA_MYI_UNSUPPRESSED) == 21
assert len(MERCHANT_LISTINGS_ALL) == 29
assert len(FBA_STORAGE_FEE_CHARGES) == 31
assert len(FBA_REIMBURSEMENTS) == 18
assert len(FBA_CUSTOMER_RETURNS) == 13
assert len(LEDGER_SUMMARY) == 21
