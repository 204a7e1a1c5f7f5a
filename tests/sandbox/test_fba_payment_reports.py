"""The storage-fee, reimbursements, customer-returns and inventory-ledger reports through the real client:
Amazon's documented headers, and the same money and units as the Finances 2024-06-19 transactions and the
fulfilled-shipments report serve, to the cent, computed from the raw responses only."""

from __future__ import annotations

import datetime as dt
import gzip
import time
from collections import Counter, defaultdict
from decimal import Decimal

import httpx
import pytest
from sp_api.api import FinancesV20240619

from .conftest import DE, US, reference_header, wait_for_report
from .test_inventory_and_business_reports import parse
from .test_transactions import all_transactions, leaves, money

STORAGE = "GET_FBA_STORAGE_FEE_CHARGES_DATA"
REIMBURSEMENTS = "GET_FBA_REIMBURSEMENTS_DATA"
RETURNS = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"
LEDGER = "GET_LEDGER_SUMMARY_VIEW_DATA"
NOW = dt.datetime.now(dt.UTC)
# The months a storage report of "the last two months" covers, and the postings that charge them.
MONTH_BEFORE_LAST = ((NOW.replace(day=1) - dt.timedelta(days=1)).replace(day=1) - dt.timedelta(days=1)).replace(day=1)
WINDOW_START = MONTH_BEFORE_LAST.replace(hour=0, minute=0, second=0, microsecond=0)


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def seller(sandbox):
    return sandbox.new_seller([US, DE], {"orders_per_day": 6, "skus": 12})


@pytest.fixture(scope="module")
def account_billed(sandbox):
    return sandbox.new_seller([US], {"orders_per_day": 6, "skus": 12, "storage_billing": "account"})


def document(sandbox, refresh_token, marketplace, **spec) -> tuple[list[str], list[dict], str]:
    client = sandbox.reports(refresh_token, marketplace)
    report = wait_for_report(client, client.create_report(marketplaceIds=[marketplace], **spec).payload["reportId"])
    assert report["processingStatus"] == "DONE", report
    download = client.get_report_document(report["reportDocumentId"]).payload["url"]
    response = httpx.get(download, verify=sandbox.ssl_context)
    header, rows = parse(gzip.decompress(response.content).decode("utf-8"))
    return header, rows, response.headers["content-type"]


@pytest.fixture(scope="module")
def returning(sandbox):
    """A seller whose buyers return a lot: its 20 days of returns are many, so some carry a comment (40 % do)
    whatever the seller's random world; at the default 4 % refund rate a window can hold two or three."""
    return sandbox.new_seller([US], {"orders_per_day": 6, "skus": 12, "refund_rate": 0.3})


@pytest.fixture(scope="module")
def transactions(sandbox, seller, account_billed, returning):
    """Every 2024-06-19 transaction posted since the storage window's start, per (seller, marketplace)."""
    out = {}
    for who, marketplaces in ((seller, (US, DE)), (account_billed, (US,)), (returning, (US,))):
        for marketplace in marketplaces:
            client = sandbox.client(FinancesV20240619, who["refresh_token"], marketplace)
            out[who["seller_id"], marketplace], _ = all_transactions(
                client, postedAfter=iso(WINDOW_START), postedBefore=iso(NOW - dt.timedelta(minutes=3)),
                marketplaceId=marketplace,
            )
    return out


def _fee_before_vat(breakdowns: list[dict], fee: str) -> Decimal:
    """The fee's amount without its VAT child (EU fees are Base + Tax)."""
    return sum((a for path, a in leaves(breakdowns) if path[:2] == ("AmazonFees", fee) and path[2:] != ("Tax",)),
               Decimal(0))


def _month_of(transaction: dict) -> str:
    period = next(c for c in transaction["contexts"] if c["contextType"] == "TimeRangeContext")
    return period["startTime"][:7]


def storage_postings(sandbox, who, marketplace, transactions, rows, asked: dt.datetime) -> list[dict]:
    """The storage postings of the window's months that a report made by ``asked`` counts.

    The fixture's transactions stop 3 minutes before the module started; the report counts every month
    charged by the time it was made. A month charged in between (a seller's charge day, at the hour the suite
    runs) is read from Finances once it serves that span, 2 minutes later: the report must still match it."""
    def of_window(found):
        return [t for t in found if t["description"] == "FBAStorageBilling" and _month_of(t) >= f"{WINDOW_START:%Y-%m}"]

    storage = of_window(transactions[who["seller_id"], marketplace])
    if {r["month_of_charge"] for r in rows} <= {_month_of(t) for t in storage}:
        return storage
    time.sleep(max(0.0, (asked + dt.timedelta(minutes=2, seconds=5) - dt.datetime.now(dt.UTC)).total_seconds()))
    client = sandbox.client(FinancesV20240619, who["refresh_token"], marketplace)
    late, _ = all_transactions(client, postedAfter=iso(NOW - dt.timedelta(minutes=3)),
                               postedBefore=iso(asked + dt.timedelta(seconds=1)), marketplaceId=marketplace)
    return storage + of_window(late)


@pytest.mark.parametrize("marketplace", [US, DE])
def test_storage_fee_report_is_the_storage_charged_per_month_and_fnsku(sandbox, seller, transactions, marketplace):
    header, rows, content_type = document(sandbox, seller["refresh_token"], marketplace, reportType=STORAGE,
                                          dataStartTime=iso(WINDOW_START))
    asked = dt.datetime.now(dt.UTC)
    assert header == reference_header(STORAGE)
    assert content_type == "text/plain; charset=UTF-8"
    storage = storage_postings(sandbox, seller, marketplace, transactions, rows, asked)
    charged = Counter()
    by_fnsku = Counter()
    for t in storage:
        charged[_month_of(t)] += -_fee_before_vat(t["breakdowns"], "FBAStorageFee")
        for item in t["items"]:
            sku = next(c["sku"] for c in item["contexts"] if c["contextType"] == "ProductContext")
            by_fnsku[_month_of(t), sku] += -_fee_before_vat(item["breakdowns"], "FBAStorageFee")
    reported = Counter()
    for r in rows:
        reported[r["month_of_charge"]] += Decimal(r["estimated_monthly_storage_fee"])
    assert charged and reported == charged  # every charged month, to the cent, and no other
    # Per FNSKU (the report names no SKU; the transaction item names both through its product): same money.
    fnsku_of = {}
    for t in storage:
        for item in t["items"]:
            product = next(c for c in item["contexts"] if c["contextType"] == "ProductContext")
            fnsku_of[product["asin"]] = product["sku"]
    per_fnsku = Counter()
    for r in rows:
        per_fnsku[r["month_of_charge"], fnsku_of[r["asin"]]] += Decimal(r["estimated_monthly_storage_fee"])
    assert per_fnsku == by_fnsku
    # A row's volume is its units times the unit's volume; several centres share an FNSKU's month.
    for r in rows:
        assert Decimal(r["estimated_total_item_volume"]) == (
            Decimal(r["item_volume"]) * int(r["average_quantity_on_hand"])).quantize(Decimal(r["item_volume"]))
    assert {r["volume_units"] for r in rows} == {"cubic feet" if marketplace == US else "cubic centimeters"}


def test_an_account_billed_storage_names_no_sku_but_its_report_has_every_fnsku(
    sandbox, account_billed, transactions
):
    _, rows, _ = document(sandbox, account_billed["refresh_token"], US, reportType=STORAGE,
                          dataStartTime=iso(WINDOW_START))
    storage = storage_postings(sandbox, account_billed, US, transactions, rows, dt.datetime.now(dt.UTC))
    assert storage and all(not t.get("items") for t in storage)
    charged = Counter({_month_of(t): -money(t["totalAmount"]) for t in storage})
    reported = Counter()
    for r in rows:
        reported[r["month_of_charge"]] += Decimal(r["estimated_monthly_storage_fee"])
    assert reported == charged
    assert len({r["fnsku"] for r in rows}) > 1


def test_reimbursements_report_lists_the_reimbursement_transactions(sandbox, seller, transactions):
    start = NOW - dt.timedelta(days=60)
    for marketplace in (US, DE):
        # The span the transactions were read for: a reimbursement approved since is in neither.
        header, rows, _ = document(sandbox, seller["refresh_token"], marketplace, reportType=REIMBURSEMENTS,
                                   dataStartTime=iso(start), dataEndTime=iso(NOW - dt.timedelta(minutes=3)))
        assert header == reference_header(REIMBURSEMENTS)
        paid = Counter(
            (t["postedDate"][:19], money(t["totalAmount"]))
            for t in transactions[seller["seller_id"], marketplace]
            if t["transactionType"] == "Adjustment"
            and t["description"] in ("FBAInventoryReimbursement", "ReimbursementClawback")
            and t["postedDate"] >= iso(start)
        )
        listed = Counter((r["approval-date"][:19], Decimal(r["amount-total"])) for r in rows)
        assert listed == paid
        for r in rows:
            assert Decimal(r["amount-total"]) == Decimal(r["amount-per-unit"]) * int(r["quantity-reimbursed-total"])
            assert (r["reason"] == "Reimbursement_Reversal") == (Decimal(r["amount-total"]) < 0)


def test_customer_returns_are_the_refunded_fba_items_with_free_text_comments(sandbox, returning, transactions):
    start = NOW - dt.timedelta(days=20)
    header, rows, _ = document(sandbox, returning["refresh_token"], US, reportType=RETURNS,
                               dataStartTime=iso(start), dataEndTime=iso(NOW - dt.timedelta(minutes=3)))
    assert header == reference_header(RETURNS)
    refunded = {
        (r["relatedIdentifierValue"], t["postedDate"][:19])
        for t in transactions[returning["seller_id"], US]
        if t["transactionType"] == "Refund" and t["description"] == "Refund Order" and t["postedDate"] >= iso(start)
        for r in t["relatedIdentifiers"] if r["relatedIdentifierName"] == "ORDER_ID"
    }
    returned = {(r["order-id"], r["return-date"][:19]) for r in rows}
    assert returned and returned <= refunded
    assert any(r["customer-comments"] for r in rows)  # free text the pipeline must drop


def test_ledger_balances_add_up_and_its_shipments_are_the_fulfilled_shipments(sandbox, seller):
    day = (NOW - dt.timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    spec = {"dataStartTime": iso(day), "dataEndTime": iso(day + dt.timedelta(days=2))}
    header, rows, _ = document(sandbox, seller["refresh_token"], US, reportType=LEDGER,
                               reportOptions={"aggregatedByTimePeriod": "DAILY", "aggregateByLocation": "COUNTRY"},
                               **spec)
    assert header == reference_header(LEDGER)
    _, shipments, _ = document(sandbox, seller["refresh_token"], US,
                               reportType="GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL", **spec)
    shipped = Counter()
    for s in shipments:
        shipped[dt.datetime.fromisoformat(s["shipment-date"]).strftime("%m/%d/%Y"), s["sku"]] += int(
            s["quantity-shipped"])
    days = defaultdict(dict)
    for r in rows:
        flows = sum(int(r[c]) for c in ("Receipts", "Customer Shipments", "Customer Returns", "Found", "Lost",
                                        "Damaged", "Disposed", "Other Events", "Unknown Events"))
        assert int(r["Ending Warehouse Balance"]) - int(r["Starting Warehouse Balance"]) == flows
        assert -int(r["Customer Shipments"]) == shipped[r["Date"], r["MSKU"]]
        days[r["Date"]][r["MSKU"]] = r
    first, second = sorted(days)
    for sku, r in days[second].items():  # one day ends where the next begins
        assert r["Starting Warehouse Balance"] == days[first][sku]["Ending Warehouse Balance"]
