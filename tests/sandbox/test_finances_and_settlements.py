"""Settlement reports (on Amazon's schedule, never creatable) and Finances v0 agree to the cent."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import httpx
import pytest
from sp_api.api import Finances
from sp_api.base.exceptions import SellingApiBadRequestException

from .conftest import US
from .test_money_world import v0_categories

SETTLEMENT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
SETTLEMENT_HEADER = (
    "settlement-id settlement-start-date settlement-end-date deposit-date total-amount currency "
    "transaction-type order-id merchant-order-id adjustment-id shipment-id marketplace-name amount-type "
    "amount-description amount fulfillment-id posted-date posted-date-time order-item-code "
    "merchant-order-item-id merchant-adjustment-item-id sku quantity-purchased"
).split()


@pytest.fixture(scope="module")
def seller(sandbox):
    return sandbox.new_seller([US], profile={"orders_per_day": 12})


@pytest.fixture(scope="module")
def settlement(sandbox, seller):
    client = sandbox.reports(seller["refresh_token"])
    listed = client.get_reports(reportTypes=[SETTLEMENT], pageSize=100).payload["reports"]
    assert len(listed) >= 5, "about 90 days of 14-day settlements should be listed"
    assert all(r["processingStatus"] == "DONE" and r["reportDocumentId"] for r in listed)
    latest = listed[0]
    document = client.get_report_document(latest["reportDocumentId"], download=True).payload["document"]
    rows = list(csv.reader(io.StringIO(document), delimiter="\t", quoting=csv.QUOTE_NONE))
    return latest, rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_settlement_reports_cannot_be_created(sandbox, seller):
    with pytest.raises(SellingApiBadRequestException) as err:
        sandbox.reports(seller["refresh_token"]).create_report(reportType=SETTLEMENT)
    assert err.value.error[0]["code"] == "InvalidInput"


def test_settlement_document_has_the_header_a_summary_row_and_fees_consistent_with_orders(settlement):
    report, header, rows = settlement
    assert header == SETTLEMENT_HEADER
    summary, lines = rows[0], rows[1:]
    assert summary["total-amount"] and summary["currency"] == "USD" and not summary["transaction-type"]
    assert Decimal(summary["total-amount"]) == sum(Decimal(r["amount"]) for r in lines)
    fees = [r for r in lines if r["amount-type"] == "ItemFees"]
    commissions = [
        r for r in fees if r["amount-description"] == "Commission" and r["transaction-type"] == "Order"
    ]
    assert commissions and all(Decimal(r["amount"]) < 0 for r in commissions)
    fba = [r for r in fees if r["amount-description"] == "FBAPerUnitFulfillmentFee"]
    assert fba and all(r["fulfillment-id"] == "AFN" and Decimal(r["amount"]) < 0 for r in fba)
    assert {"Order", "Refund", "other-transaction"} <= {r["transaction-type"] for r in lines}
    principal = sum(
        Decimal(r["amount"])
        for r in lines
        if r["amount-description"] == "Principal"
        and r["transaction-type"] == "Order"
        and r["amount-type"] == "ItemPrice"
    )
    commission = -sum(Decimal(r["amount"]) for r in commissions)
    assert Decimal("0.12") < commission / principal < Decimal("0.16")


def test_finances_events_over_the_settlement_period_sum_to_its_total(sandbox, seller, settlement):
    report, _, rows = settlement
    finances = sandbox.client(Finances, seller["refresh_token"])
    args = dict(
        PostedAfter=report["dataStartTime"], PostedBefore=report["dataEndTime"], MaxResultsPerPage=100
    )
    all_pages, token, fee_signs = [], None, set()
    while True:
        payload = finances.list_financial_events(**args, **({"NextToken": token} if token else {})).payload
        all_pages.append(payload)
        for ev in payload["FinancialEvents"]["ShipmentEventList"]:
            for item in ev["ShipmentItemList"]:
                fee_signs |= {f["FeeAmount"]["CurrencyAmount"] < 0 for f in item["ItemFeeList"]}
        token = payload.get("NextToken")
        if not token:
            break
    pages = len(all_pages)
    total = sum(v0_categories(all_pages, "USD").values())  # every event list, shipments to reserves
    assert pages > 1, "a 14-day settlement should need several pages of 100 events"
    assert fee_signs == {True}, "fees on shipments are negative"
    assert total == Decimal(rows[0]["total-amount"])


def test_finances_enforces_amazons_date_rules(sandbox, seller):
    token = sandbox.access_token(seller["refresh_token"])
    now = dt.datetime.now(dt.UTC)
    url = f"{sandbox.base_url}/finances/v0/financialEvents"

    def call(**params):
        return httpx.get(
            url, params=params, headers={"x-amz-access-token": token}, verify=sandbox.ssl_context
        )

    too_long = call(
        PostedAfter=(now - dt.timedelta(days=200)).isoformat(),
        PostedBefore=(now - dt.timedelta(days=10)).isoformat(),
    )
    too_recent = call(PostedAfter=(now - dt.timedelta(days=1)).isoformat(), PostedBefore=now.isoformat())
    assert too_long.status_code == 400 and too_recent.status_code == 400
    first = call(PostedAfter=(now - dt.timedelta(days=30)).isoformat(), MaxResultsPerPage=5)
    assert first.status_code == 200 and first.headers["x-amzn-ratelimit-limit"] == "0.5"
    next_token = first.json()["payload"]["NextToken"]
    changed = call(
        PostedAfter=(now - dt.timedelta(days=29)).isoformat(), MaxResultsPerPage=5, NextToken=next_token
    )
    assert changed.status_code == 400 and changed.json()["errors"][0]["code"] == "InvalidInput"
