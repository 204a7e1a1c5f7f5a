"""The PII firewall's rule book: no allowlist ever names a buyer, address, phone, tax id or tracking field."""

import re

import polars as pl
import pytest

from orchestration.load.datasets import DATASETS, FULFILLED_SHIPMENTS, LISTINGS
from orchestration.load.parse import MissingColumnError, parse_document
from spapi_sandbox.report_columns import AMAZON_FULFILLED_SHIPMENTS

PII = re.compile(
    r"buyer|recipient|address|phone|e-?mail|postal|zip|cpf|bill-|ship-city|tracking|purchase-order-number"
    r"|^name$|AddressLine|City|PostalCode",
    re.IGNORECASE,
)


@pytest.mark.parametrize("dataset", list(DATASETS.values()), ids=lambda d: d.name)
def test_no_allowlist_names_a_pii_field(dataset):
    assert not [c.source for c in dataset.columns if PII.search(c.source)]
    assert len(set(dataset.column_names)) == len(dataset.column_names)
    assert set(dataset.key) <= set(dataset.column_names)


@pytest.mark.parametrize("dataset", list(DATASETS.values()), ids=lambda d: d.name)
def test_every_amount_is_numeric_14_2_beside_a_currency(dataset):
    money = [c for c in dataset.columns if c.sql_type == "numeric(14,2)"]
    if money:
        assert "currency" in dataset.column_names


# Amazon's documented header, as the sandbox serves it (one copy, not a second one here).
FULFILLED_HEADER = AMAZON_FULFILLED_SHIPMENTS


def test_fulfilled_shipments_keep_only_fulfilment_facts():
    values = {h: "" for h in FULFILLED_HEADER}
    values.update({
        "amazon-order-id": "111-1", "shipment-id": "S1", "shipment-item-id": "D1", "sku": "SKU-1",
        "shipment-date": "2026-01-02T10:00:00+00:00", "quantity-shipped": "1", "currency": "USD",
        "item-price": "10.00", "buyer-email": "jane@example.com", "buyer-name": "Jane Buyer",
        "ship-address-1": "1 Main St", "ship-city": "Springfield", "ship-state": "IL", "ship-country": "US",
        "ship-phone-number": "555-0100", "bill-address-1": "2 Bill Rd", "tracking-number": "1Z999",
        "carrier": "UPS", "fulfillment-center-id": "ABE2",
    })
    text = "\t".join(FULFILLED_HEADER) + "\n" + "\t".join(values[h] for h in FULFILLED_HEADER) + "\n"
    parsed = parse_document(text, FULFILLED_SHIPMENTS, "tenant t000000000000, partition 2026-01-02")
    dumped = repr(parsed.rows.to_dicts()) + repr(parsed.quarantine.to_dicts())
    for secret in ("jane@example.com", "Jane Buyer", "1 Main St", "Springfield", "555-0100", "2 Bill Rd", "1Z999"):
        assert secret not in dumped
    row = parsed.rows.to_dicts()[0]
    assert (row["ship_state"], row["ship_country"], row["carrier"]) == ("IL", "US", "UPS")
    assert "buyer-email" in parsed.dropped_columns


def test_listings_take_marketplace_and_currency_from_the_document_context():
    header = "item-name\tlisting-id\tseller-sku\tprice\tquantity\topen-date\tfulfillment-channel\tstatus"
    text = header + "\nMug für Küche\tL1\tSKU-1\t12.50\t\t2025-03-01 10:00:00 UTC\tAMAZON_EU\tActive\n"
    context = {"marketplace_id": "A1PA6795UKMFR9", "currency": "EUR", "snapshot_at": "2026-01-02T05:00:00+00:00"}
    row = parse_document(text, LISTINGS, "t", context).rows.to_dicts()[0]
    assert (row["marketplace_id"], row["currency"], str(row["price"])) == ("A1PA6795UKMFR9", "EUR", "12.50")
    assert row["open_date"].year == 2025


def test_a_missing_required_column_names_the_report_column_and_tenant():
    with pytest.raises(MissingColumnError) as error:
        parse_document("sku\tquantity-shipped\nSKU-1\t1\n", FULFILLED_SHIPMENTS, "tenant t0123456789ab, partition x")
    message = str(error.value)
    assert "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL" in message and "shipment-id" in message
    assert "t0123456789ab" in message


def test_a_settlements_currency_and_dates_reach_every_row_of_the_settlement():
    from orchestration.extract.reports import ReportDocument
    from orchestration.load.datasets import SETTLEMENTS
    from orchestration.load.parse import fill_within_groups
    from orchestration.load.pipeline import parse_context, read_tsv

    header = "settlement-id\tsettlement-start-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\t" \
             "order-id\tamount-type\tamount-description\tamount"
    text = "\n".join([
        header,
        "S1\t2026-01-01 00:00:00 UTC\t2026-01-17 00:00:00 UTC\t8.50\tEUR\t\t\t\t\t",
        "S1\t\t\t\t\tOrder\t111-1\tItemPrice\tPrincipal\t10.00",
        "S1\t\t\t\t\tOrder\t111-1\tItemFees\tCommission\t-1.50",
    ]) + "\n"
    import gzip

    document = ReportDocument(SETTLEMENTS.report_type, "1", "d1", "utf-8", gzip.compress(text.encode()),
                              {"marketplace_id": "A1PA6795UKMFR9"})
    chunks = read_tsv(document, SETTLEMENTS, SETTLEMENTS.allowlist, "t", parse_context(document, "2026-01-17"))
    rows = fill_within_groups(pl.concat([chunk.parsed.rows for chunk in chunks]), SETTLEMENTS)
    assert rows["currency"].to_list() == ["EUR", "EUR", "EUR"]
    assert rows["deposit_date"].null_count() == 0
    assert rows["total_amount"].null_count() == 2  # only the summary row says the total


def test_customer_returns_never_keep_the_buyers_comment_but_keep_the_order_id():
    from orchestration.load.datasets import CUSTOMER_RETURNS
    from spapi_sandbox.report_columns import FBA_CUSTOMER_RETURNS

    values = dict.fromkeys(FBA_CUSTOMER_RETURNS, "")
    values.update({"return-date": "2026-01-02T10:00:00+00:00", "order-id": "111-2", "sku": "SKU-1", "quantity": "1",
                   "detailed-disposition": "SELLABLE", "license-plate-number": "LPN123",
                   "customer-comments": "Call Jane Buyer on 555-0100"})
    text = "\t".join(FBA_CUSTOMER_RETURNS) + "\n" + "\t".join(values[h] for h in FBA_CUSTOMER_RETURNS) + "\n"
    parsed = parse_document(text, CUSTOMER_RETURNS, "t", {"marketplace_id": "ATVPDKIKX0DER"})
    dumped = repr(parsed.rows.to_dicts()) + repr(parsed.quarantine.to_dicts())
    assert "Jane Buyer" not in dumped and "LPN123" not in dumped
    assert parsed.rows.to_dicts()[0]["amazon_order_id"] == "111-2"
    assert {"customer-comments", "license-plate-number"} <= set(parsed.dropped_columns)


def test_the_ledgers_us_style_days_are_read_as_dates():
    from orchestration.load.datasets import INVENTORY_LEDGER
    from spapi_sandbox.report_columns import LEDGER_SUMMARY

    values = dict.fromkeys(LEDGER_SUMMARY, "0")
    values.update({"Date": "11/29/2026", "FNSKU": "X001", "MSKU": "SKU-1", "Disposition": "SELLABLE",
                   "Title": "Mug", "Location": "US"})
    text = "\t".join(LEDGER_SUMMARY) + "\n" + "\t".join(values[h] for h in LEDGER_SUMMARY) + "\n"
    row = parse_document(text, INVENTORY_LEDGER, "t", {"marketplace_id": "ATVPDKIKX0DER"}).rows.to_dicts()[0]
    assert str(row["date"]) == "2026-11-29" and row["warehouse_transfer_in_out"] == 0


def test_the_storage_fee_report_is_asked_for_the_last_two_months_never_one_day():
    from datetime import UTC, datetime

    from orchestration.extract.catalogue import EXTRACTIONS, recent_months_window

    start, end = recent_months_window(datetime.now(UTC).date())
    assert start.day == 1 and (end - start).days >= 31 and start < end
    assert EXTRACTIONS["storage_fees"].snapshot  # once a day, for today only
