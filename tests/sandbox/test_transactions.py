"""Finances 2024-06-19 listTransactions, driven with the real client: Amazon's rules, paging, and breakdowns
whose leaves sum to every item and transaction total to the cent."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import httpx
import pytest
from sp_api.api import FinancesV20240619

from spapi_sandbox.ratelimit import RateLimiter

from .conftest import US

TWO_MINUTES = dt.timedelta(minutes=2)


def money(currency: dict) -> Decimal:
    return Decimal(str(currency["currencyAmount"]))


def leaves(breakdowns: list[dict], path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Decimal]]:
    """(path, amount) of every leaf, checking on the way that each node is the sum of its children."""
    out = []
    for node in breakdowns or []:
        here = (*path, node["breakdownType"])
        children = node.get("breakdowns") or []
        if children:
            assert money(node["breakdownAmount"]) == sum(money(c["breakdownAmount"]) for c in children), here
            out += leaves(children, here)
        else:
            out.append((here, money(node["breakdownAmount"])))
    return out


def all_transactions(client, **args) -> tuple[list[dict], int]:
    transactions, pages, token = [], 0, None
    while True:
        payload = client.list_transactions(**args, **({"nextToken": token} if token else {})).payload
        pages += 1
        transactions += payload["transactions"]
        token = payload.get("nextToken")
        if not token:
            return transactions, pages


@pytest.fixture(scope="module")
def seller(sandbox):
    return sandbox.new_seller([US], profile={"orders_per_day": 20, "skus": 30})


@pytest.fixture(scope="module")
def month(sandbox, seller):
    """Every transaction of last calendar month, read page by page with the real client."""
    client = sandbox.client(FinancesV20240619, seller["refresh_token"])
    end = dt.datetime.now(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = (end - dt.timedelta(days=1)).replace(day=1)
    args = dict(postedAfter=start.isoformat(), postedBefore=end.isoformat(), marketplaceId=US)
    return all_transactions(client, **args)


def test_a_month_has_every_kind_of_money_on_several_pages(month):
    transactions, pages = month
    assert pages > 1
    kinds = Counter((t["transactionType"], t["description"]) for t in transactions)
    for expected in (
        ("Shipment", "Order Payment"),
        ("Refund", "Refund Order"),
        ("ServiceFee", "FBAStorageBilling"),
        ("ServiceFee", "Subscription"),
        ("ProductAdsPayment", "Cost of Advertising"),
        ("CouponPayment", "Coupon Fee"),
        ("Adjustment", "CurrentReserveAmount"),
        ("Adjustment", "PreviousReserveAmountBalance"),
    ):
        assert kinds[expected], expected
    assert kinds[("ServiceFee", "Subscription")] == 1, "the selling plan is charged once a month"
    assert {t["transactionStatus"] for t in transactions} == {"RELEASED"}


def test_breakdown_leaves_sum_to_items_and_transactions_to_the_cent(month):
    transactions, _ = month
    for t in transactions:
        total = money(t["totalAmount"])
        assert sum(a for _, a in leaves(t["breakdowns"])) == total, t["transactionId"]
        for item in t.get("items") or []:
            if item.get("breakdowns"):
                assert sum(a for _, a in leaves(item["breakdowns"])) == money(item["totalAmount"])
        if t.get("items"):
            assert sum(money(i["totalAmount"]) for i in t["items"]) == total, t["transactionId"]


def test_shipments_carry_product_context_and_fees_are_negative(month):
    transactions, _ = month
    shipments = [t for t in transactions if t["transactionType"] == "Shipment"]
    for t in shipments:
        names = {r["relatedIdentifierName"] for r in t["relatedIdentifiers"]}
        assert {"ORDER_ID", "SETTLEMENT_ID", "FINANCIAL_EVENT_GROUP_ID"} <= names
        for item in t["items"]:
            (context,) = item["contexts"]
            assert context["contextType"] == "ProductContext" and context["quantityShipped"] >= 1
            assert context["fulfillmentNetwork"] in ("AFN", "MFN")
            for path, amount in leaves(item["breakdowns"]):
                if path[0] == "AmazonFees":
                    assert amount < 0, path
    sales = sum(a for t in shipments for p, a in leaves(t["breakdowns"]) if p == ("ProductCharges", "Principal"))
    ads = -sum(money(t["totalAmount"]) for t in transactions if t["transactionType"] == "ProductAdsPayment")
    storage = -sum(money(t["totalAmount"]) for t in transactions if t["description"] == "FBAStorageBilling")
    assert Decimal("0.03") < ads / sales < Decimal("0.2"), "advertising costs 5-15 % of sales"
    # Amazon's monthly storage rate per cubic foot: $0.78 January to September, $2.40 October to December.
    # Last month's transactions hold the storage of the month before it (charged early the next month).
    last_month = (dt.datetime.now(dt.UTC).replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    billed = (last_month - dt.timedelta(days=1)).month
    peak = Decimal("2.40") / Decimal("0.78") if billed >= 10 else Decimal("1")
    assert Decimal("10") < storage < Decimal("3000") * peak, "a month of storage: tens to hundreds of dollars"


def test_amazons_date_rules_and_paging_arguments(sandbox, seller):
    token = sandbox.access_token(seller["refresh_token"])
    now = dt.datetime.now(dt.UTC)
    url = f"{sandbox.base_url}/finances/2024-06-19/transactions"

    def call(**params):
        return httpx.get(url, params=params, headers={"x-amz-access-token": token}, verify=sandbox.ssl_context)

    missing = call(marketplaceId=US)
    too_recent = call(postedAfter=(now - dt.timedelta(days=1)).isoformat(), postedBefore=now.isoformat())
    bad_status = call(postedAfter=(now - dt.timedelta(days=1)).isoformat(), transactionStatus="PENDING")
    assert missing.status_code == too_recent.status_code == bad_status.status_code == 400
    assert missing.json()["errors"][0]["code"] == "InvalidInput"
    too_long = call(
        postedAfter=(now - dt.timedelta(days=200)).isoformat(), postedBefore=(now - dt.timedelta(days=10)).isoformat()
    )
    assert too_long.status_code == 200 and too_long.json() == {"payload": {"transactions": []}}
    first = call(postedAfter=(now - dt.timedelta(days=10)).isoformat(), marketplaceId=US)
    assert first.status_code == 200 and first.headers["x-amzn-ratelimit-limit"] == "0.5"
    next_token = first.json()["payload"]["nextToken"]
    changed = call(postedAfter=(now - dt.timedelta(days=9)).isoformat(), marketplaceId=US, nextToken=next_token)
    assert changed.status_code == 400 and changed.json()["errors"][0]["code"] == "InvalidInput"
    again = call(postedAfter=(now - dt.timedelta(days=10)).isoformat(), marketplaceId=US, nextToken=next_token)
    assert again.status_code == 200
    first_ids = {t["transactionId"] for t in first.json()["payload"]["transactions"]}
    assert not first_ids & {t["transactionId"] for t in again.json()["payload"]["transactions"]}


def test_list_transactions_bucket_holds_a_burst_of_ten_and_refills_at_half_a_call_a_second():
    clock = [0.0]
    limiter = RateLimiter(time_scale=1.0, clock=lambda: clock[0])
    assert [limiter.try_acquire("S", "app", "listTransactions") for _ in range(11)] == [True] * 10 + [False]
    clock[0] += 1.9
    assert not limiter.try_acquire("S", "app", "listTransactions")
    clock[0] += 0.2
    assert limiter.try_acquire("S", "app", "listTransactions")


def test_deferred_payments_are_deferred_until_maturity_then_released(sandbox):
    seller = sandbox.new_seller([US], profile={"orders_per_day": 10, "skus": 10, "deferred_payments": True})
    client = sandbox.client(FinancesV20240619, seller["refresh_token"])
    now = dt.datetime.now(dt.UTC)
    # One posted-date window for the four listings, so a transaction posted between two calls is in none of them.
    args = dict(postedAfter=(now - dt.timedelta(days=20)).isoformat(),
                postedBefore=(now - TWO_MINUTES - dt.timedelta(seconds=5)).isoformat(), marketplaceId=US)
    every, _ = all_transactions(client, **args)
    by_status = {
        s: all_transactions(client, **args, transactionStatus=s)[0]
        for s in ("DEFERRED", "RELEASED", "DEFERRED_RELEASED")
    }
    done = dt.datetime.now(dt.UTC)

    def maturity_of(t: dict) -> dt.datetime | None:
        for context in t.get("contexts") or []:
            if context.get("contextType") == "DeferredContext":
                return dt.datetime.fromisoformat(context["maturityDate"].replace("Z", "+00:00"))
        return None

    # A payment that matured while the four calls ran is DEFERRED in one answer and DEFERRED_RELEASED in a later
    # one, as on Amazon: it is left out of the partition check, every other transaction is in exactly one status.
    def steady(transactions: list[dict]) -> list[str]:
        return sorted(t["transactionId"] for t in transactions
                      if not (m := maturity_of(t)) or not now - TWO_MINUTES <= m <= done + TWO_MINUTES)

    assert by_status["DEFERRED"] and by_status["DEFERRED_RELEASED"] and by_status["RELEASED"]
    assert steady([t for s in by_status.values() for t in s]) == steady(every)
    for status, transactions in by_status.items():
        for t in transactions:
            if t["transactionType"] != "Shipment":
                assert status == "RELEASED"
                continue
            (context,) = t["contexts"]
            assert context["contextType"] == "DeferredContext" and context["deferralReason"] == "DD7"
            maturity = maturity_of(t)
            posted = dt.datetime.fromisoformat(t["postedDate"].replace("Z", "+00:00"))
            assert maturity >= posted + dt.timedelta(days=9)
            names = {r["relatedIdentifierName"] for r in t["relatedIdentifiers"]}
            if status == "DEFERRED":
                assert maturity > now - TWO_MINUTES and "SETTLEMENT_ID" not in names
            else:
                assert maturity <= done and "SETTLEMENT_ID" in names


def test_eu_order_money_splits_the_vat_inclusive_price_into_a_net_principal_and_its_vat(sandbox):
    """With Amazon's VAT Calculation Service an EU shipment's Principal is the net price and Tax its VAT, adding
    up to the VAT-inclusive item-price of the orders report (docs/amazon/spapi-money.md section 6): read from the
    raw orders report and the raw transactions, the two agree per order item."""
    import csv
    import gzip
    import io

    from .conftest import DE, wait_for_report

    seller = sandbox.new_seller([DE], profile={"orders_per_day": 15, "skus": 8})
    now = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    reports = sandbox.reports(seller["refresh_token"], DE)
    created = reports.create_report(reportType="GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL",
                                    marketplaceIds=[DE], dataStartTime=(now - dt.timedelta(days=20)).isoformat(),
                                    dataEndTime=(now - dt.timedelta(days=10)).isoformat())
    report = wait_for_report(reports, created.payload["reportId"])
    url = reports.get_report_document(report["reportDocumentId"]).payload["url"]
    text = gzip.decompress(httpx.get(url, verify=sandbox.ssl_context).content).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
    price = {(r["amazon-order-id"], r["sku"]): (Decimal(r["item-price"]), Decimal(r["item-tax"]))
             for r in rows if r["item-status"] != "Cancelled" and r["item-price"]}
    client = sandbox.client(FinancesV20240619, seller["refresh_token"], DE)
    transactions, _ = all_transactions(client, postedAfter=(now - dt.timedelta(days=20)).isoformat(),
                                       postedBefore=(now - dt.timedelta(days=1)).isoformat(), marketplaceId=DE)
    compared = 0
    for t in transactions:
        if t["transactionType"] != "Shipment":
            continue
        order_id = next(r["relatedIdentifierValue"] for r in t["relatedIdentifiers"]
                        if r["relatedIdentifierName"] == "ORDER_ID")
        for item in t["items"]:
            sku = next(c["sku"] for c in item["contexts"] if c["contextType"] == "ProductContext")
            if (order_id, sku) not in price:
                continue
            lines = dict(leaves(item["breakdowns"]))
            principal, tax = lines[("ProductCharges", "Principal")], lines[("ProductCharges", "Tax")]
            gross, vat = price[(order_id, sku)]
            assert (principal, tax) == (gross - vat, vat), (order_id, sku)
            compared += 1
    assert compared >= 20
