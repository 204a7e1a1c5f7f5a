"""Finances 2024-06-19 transactions flatten to one line per leaf breakdown amount: nothing is dropped, a line the
fee taxonomy does not know is kept as `unclassified`, and a transaction's lines always sum to its total."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestration.load.datasets import FINANCE_TRANSACTIONS
from orchestration.load.fee_taxonomy import FeeTaxonomy
from orchestration.load.flatten import CLASSIFIED, REMAINDER, UNBROKEN, UNCLASSIFIED, finance_transactions
from orchestration.load.parse import parse_records

TAXONOMY = FeeTaxonomy([
    {"source": "transactions", "transaction_type": "Shipment", "transaction_description": "",
     "amount_type": path, "amount_description": "", "category": category}
    for path, category in (("ProductCharges/Principal", "product_sales"), ("Tax", "tax_collected"),
                           ("AmazonFees/Commission", "referral"), ("AmazonFees/FBAPerUnitFulfillmentFee", "fulfilment"))
] + [{"source": "transactions", "transaction_type": "ServiceFee", "transaction_description": "FBAStorageBilling",
      "amount_type": "FBAStorageFee", "amount_description": "", "category": "storage"}])


def _money(amount, currency="USD"):
    return {"currencyCode": currency, "currencyAmount": amount}


def _breakdown(kind, amount, children=()):
    return {"breakdownType": kind, "breakdownAmount": _money(amount), "breakdowns": list(children)}


SHIPMENT = {
    "sellingPartnerMetadata": {"sellingPartnerId": "A1", "accountType": "PAYABLE", "marketplaceId": "ATVPDKIKX0DER"},
    "relatedIdentifiers": [
        {"relatedIdentifierName": "ORDER_ID", "relatedIdentifierValue": "111-1"},
        {"relatedIdentifierName": "SETTLEMENT_ID", "relatedIdentifierValue": "S1"},
        {"relatedIdentifierName": "FINANCIAL_EVENT_GROUP_ID", "relatedIdentifierValue": "G1"},
        {"relatedIdentifierName": "SHIPMENT_ID", "relatedIdentifierValue": "SH1"},
    ],
    "transactionType": "Shipment", "transactionId": "T1", "transactionStatus": "RELEASED",
    "description": "Order Payment", "postedDate": "2026-01-02T10:00:00Z", "totalAmount": _money(13.02),
    "marketplaceDetails": {"marketplaceId": "ATVPDKIKX0DER", "marketplaceName": "Amazon.com"},
    "items": [{
        "description": "Bowl", "totalAmount": _money(13.02),
        "contexts": [{"contextType": "ProductContext", "sku": "SKU-1", "asin": "B1", "quantityShipped": 1,
                      "fulfillmentNetwork": "AFN"}],
        "breakdowns": [
            _breakdown("ProductCharges", 19.99, [_breakdown("Principal", 19.99)]),
            _breakdown("Tax", 1.60),
            _breakdown("AmazonFees", -8.57, [_breakdown("Commission", -3.00),
                                             _breakdown("FBAPerUnitFulfillmentFee", -5.57)]),
        ],
    }],
    "contexts": [{"contextType": "DeferredContext", "deferralReason": "DD7", "maturityDate": "2026-01-09T00:00:00Z"}],
    "buyerName": "never kept",
}


def _lines(*transactions):
    return list(finance_transactions({"pages": [{"transactions": list(transactions)}]}, TAXONOMY))


def test_a_shipment_becomes_one_line_per_leaf_with_its_identifiers_and_product():
    lines = _lines(SHIPMENT)
    assert [(r["breakdownPath"], r["amount"], r["lineStatus"]) for r in lines] == [
        ("ProductCharges/Principal", "19.99", CLASSIFIED),
        ("Tax", "1.6", CLASSIFIED),
        ("AmazonFees/Commission", "-3.0", CLASSIFIED),
        ("AmazonFees/FBAPerUnitFulfillmentFee", "-5.57", CLASSIFIED),
    ]
    first = lines[0]
    assert (first["orderId"], first["settlementId"], first["financialEventGroupId"]) == ("111-1", "S1", "G1")
    assert (first["sku"], first["asin"], first["quantity"], first["itemNumber"]) == ("SKU-1", "B1", 1, 1)
    assert (first["deferralReason"], first["maturityDate"]) == ("DD7", "2026-01-09T00:00:00Z")
    assert first["marketplaceId"] == "ATVPDKIKX0DER"
    assert all("buyerName" not in r and "never kept" not in repr(r) for r in lines)


def test_lines_type_through_the_allowlist_and_keep_the_total():
    parsed = parse_records(_lines(SHIPMENT), FINANCE_TRANSACTIONS)
    assert parsed.quarantine.height == 0
    rows = parsed.rows.to_dicts()
    assert sum(r["amount"] for r in rows) == Decimal("13.02")
    assert {r["transaction_total"] for r in rows} == {Decimal("13.02")}
    assert [r["transaction_line"] for r in rows] == [1, 2, 3, 4]


def test_an_unknown_transaction_type_lands_unclassified_with_its_raw_type_and_amount():
    novel = {**SHIPMENT, "transactionId": "T9", "transactionType": "BrandNewThing", "items": [],
             "breakdowns": [_breakdown("Mystery", -4.25)], "totalAmount": _money(-4.25)}
    lines = _lines(novel)
    assert [(r["transactionType"], r["breakdownPath"], r["amount"], r["lineStatus"]) for r in lines] == [
        ("BrandNewThing", "Mystery", "-4.25", UNCLASSIFIED)]


def test_an_unknown_breakdown_of_a_known_type_is_unclassified_and_the_rest_still_classified():
    item = {**SHIPMENT["items"][0], "breakdowns": [*SHIPMENT["items"][0]["breakdowns"], _breakdown("NewFee", -1.00)]}
    lines = _lines({**SHIPMENT, "items": [item], "totalAmount": _money(12.02)})
    status = {r["breakdownPath"]: r["lineStatus"] for r in lines}
    assert status["NewFee"] == UNCLASSIFIED
    assert status["AmazonFees/Commission"] == CLASSIFIED


def test_a_description_names_the_service_fee():
    storage = {"transactionType": "ServiceFee", "transactionId": "T2", "description": "FBAStorageBilling",
               "postedDate": "2026-01-02T00:00:00Z", "totalAmount": _money(-126.09),
               "items": [{"totalAmount": _money(-126.09), "breakdowns": [_breakdown("FBAStorageFee", -126.09)]}]}
    assert [r["lineStatus"] for r in _lines(storage)] == [CLASSIFIED]
    other = {**storage, "transactionId": "T3", "description": "SomethingElseBilling"}
    assert [r["lineStatus"] for r in _lines(other)] == [UNCLASSIFIED]


def test_reimbursement_money_in_the_transaction_breakdowns_is_taken_when_items_have_none():
    reimbursement = {"transactionType": "Adjustment", "transactionId": "T4", "description": "FBAInventoryReimbursement",
                     "postedDate": "2026-01-02T00:00:00Z", "totalAmount": _money(6.22),
                     "items": [{"breakdowns": None, "contexts": [{"contextType": "ProductContext", "sku": "SKU-2"}]}],
                     "breakdowns": [_breakdown("FBAInventoryReimbursement", 6.22)]}
    lines = _lines(reimbursement)
    assert [(r["breakdownPath"], r["amount"], r["itemNumber"], r["sku"]) for r in lines] == [
        ("FBAInventoryReimbursement", "6.22", 0, "SKU-2")]


def test_items_and_transaction_breakdowns_describing_the_same_money_are_counted_once():
    both = {**SHIPMENT, "breakdowns": [_breakdown("Sales", 21.59), _breakdown("Expenses", -8.57)]}
    lines = _lines(both)
    assert sum(Decimal(r["amount"]) for r in lines) == Decimal("13.02")
    assert all(r["itemNumber"] == 1 for r in lines)


def test_money_the_breakdowns_do_not_explain_is_a_remainder_line():
    short = {**SHIPMENT, "totalAmount": _money(15.00)}
    lines = _lines(short)
    assert lines[-1]["breakdownPath"] == REMAINDER
    assert lines[-1]["amount"] == "1.98"
    assert lines[-1]["lineStatus"] == UNCLASSIFIED
    unbroken = {**SHIPMENT, "transactionId": "T5", "items": None, "totalAmount": _money(-2.50)}
    assert [(r["breakdownPath"], r["amount"]) for r in _lines(unbroken)] == [(UNBROKEN, "-2.5")]


def test_pages_wrapped_in_a_payload_and_empty_pages_are_read():
    document = {"pages": [{"payload": {"transactions": [SHIPMENT]}}, {}, {"transactions": None}]}
    assert len(list(finance_transactions(document, TAXONOMY))) == 4


# -- property: any breakdown tree sums to the total -------------------------------------------------------

CENTS = st.integers(min_value=-10**7, max_value=10**7).map(lambda c: Decimal(c) / 100)
NAMES = st.sampled_from(["ProductCharges", "Principal", "Tax", "AmazonFees", "Commission", "Odd", "Sales"])


def _trees(depth):
    leaf = st.builds(lambda kind, amount: _breakdown(kind, str(amount)), NAMES, CENTS)
    if depth == 0:
        return leaf
    # A node's amount is random: it may or may not equal the sum of its parts.
    node = st.builds(lambda kind, amount, children: _breakdown(kind, str(amount), children),
                     NAMES, CENTS, st.lists(_trees(depth - 1), max_size=3))
    return st.one_of(leaf, node)


@settings(max_examples=200, deadline=None)
@given(
    total=CENTS,
    items=st.lists(st.lists(_trees(3), max_size=4), max_size=3),
    own=st.lists(_trees(2), max_size=3),
    kind=st.sampled_from(["Shipment", "Refund", "ServiceFee", "NeverSeenBefore"]),
)
def test_any_breakdown_tree_flattens_to_lines_that_sum_to_the_total(total, items, own, kind):
    transaction = {"transactionType": kind, "transactionId": "T", "postedDate": "2026-01-02T00:00:00Z",
                   "totalAmount": _money(str(total)), "items": [{"breakdowns": b} for b in items], "breakdowns": own}
    lines = _lines(transaction)
    assert lines, "a transaction always has at least one line"
    assert sum(Decimal(r["amount"]) for r in lines) == total
    assert [r["lineNumber"] for r in lines] == list(range(1, len(lines) + 1))
    assert {r["lineStatus"] for r in lines} <= {CLASSIFIED, UNCLASSIFIED}
    if kind == "NeverSeenBefore":
        assert {r["lineStatus"] for r in lines} == {UNCLASSIFIED}


def test_event_groups_keep_the_deposit_and_never_the_bank_account():
    from orchestration.load.datasets import FINANCIAL_EVENT_GROUPS
    from orchestration.load.flatten import financial_event_groups

    page = {"FinancialEventGroupList": [{
        "FinancialEventGroupId": "G1", "ProcessingStatus": "Closed", "FundTransferStatus": "Succeeded",
        "OriginalTotal": {"CurrencyCode": "USD", "CurrencyAmount": 1234.56},
        "ConvertedTotal": {"CurrencyCode": "USD", "CurrencyAmount": 1234.56},
        "FundTransferDate": "2026-01-17T00:00:00Z", "TraceId": "TRACE-SECRET", "AccountTail": "9876",
        "FinancialEventGroupStart": "2026-01-01T00:00:00Z", "FinancialEventGroupEnd": "2026-01-15T00:00:00Z",
    }]}
    records = list(financial_event_groups({"pages": [page]}))
    assert "9876" not in repr(records) and "TRACE-SECRET" not in repr(records)
    row = parse_records(records, FINANCIAL_EVENT_GROUPS).rows.to_dicts()[0]
    assert (row["financial_event_group_id"], row["original_total"], row["currency"]) == (
        "G1", Decimal("1234.56"), "USD")
    assert row["fund_transfer_status"] == "Succeeded"
