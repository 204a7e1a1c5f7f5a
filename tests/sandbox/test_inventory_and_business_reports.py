"""The inventory, listings, fees, sales-and-traffic and fulfilled-shipments reports through the real client:
exact reference headers, Cp1252 for EU listings, and consistency with orders, finances and the Inventory API."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import time
from decimal import Decimal

import httpx
import pytest

from spapi_sandbox.world import SellerProfile, World, load_world

from .conftest import DE, US, reference_header, wait_for_report

MYI = "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"
LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
FEES = "GET_FBA_ESTIMATED_FBA_FEES_TXT_DATA"
TRAFFIC = "GET_SALES_AND_TRAFFIC_REPORT"
SHIPMENTS = "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL"
PII_COLUMNS = (
    "buyer-email buyer-name buyer-phone-number recipient-name ship-address-1 ship-address-2 ship-address-3 "
    "ship-phone-number bill-address-1 bill-address-2 bill-address-3"
).split()


def parse(text: str) -> tuple[list[str], list[dict]]:
    reader = csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader)
    return header, [dict(zip(header, row, strict=True)) for row in reader]


def create_within_cap(client, **spec):
    """createReport; sales and traffic waits for the application's cap (once per 15 Amazon-minutes, 9 s here), which
    the other tests of this session's sandbox spend too."""
    from sp_api.base.exceptions import SellingApiRequestThrottledException

    deadline = time.monotonic() + 15
    while True:
        try:
            return client.create_report(**spec)
        except SellingApiRequestThrottledException:
            if spec.get("reportType") != TRAFFIC or time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def run_report(sandbox, client, **spec) -> tuple[dict, httpx.Response | None]:
    report = wait_for_report(client, create_within_cap(client, **spec).payload["reportId"])
    if "reportDocumentId" not in report:
        return report, None
    url = client.get_report_document(report["reportDocumentId"]).payload["url"]
    return report, httpx.get(url, verify=sandbox.ssl_context)


@pytest.fixture(scope="module")
def seller(sandbox):
    return sandbox.new_seller([US, DE], {"skus": 30})


def days_ago(n: int) -> str:
    return f"{dt.datetime.now(dt.UTC).date() - dt.timedelta(days=n)}T00:00:00Z"


def test_myi_report_is_the_inventory_api_snapshot_at_creation(sandbox, seller):
    client = sandbox.reports(seller["refresh_token"])
    report, download = run_report(sandbox, client, reportType=MYI, marketplaceIds=[US])
    header, rows = parse(gzip.decompress(download.content).decode("utf-8"))
    assert header == reference_header(MYI)
    created = dt.datetime.fromisoformat(report["createdTime"])
    truth = load_world(sandbox.state_dir).inventory(seller["seller_id"], US, created)
    assert [r["sku"] for r in rows] == [p.sku.sku for p in truth]
    for r, p in zip(rows, truth, strict=True):
        assert int(r["afn-fulfillable-quantity"]) == p.fulfillable
        assert int(r["afn-warehouse-quantity"]) == p.warehouse
        assert int(r["afn-total-quantity"]) == p.total


def test_eu_listings_are_cp1252_bytes_with_umlauts_and_euro_signs(sandbox, seller):
    client = sandbox.reports(seller["refresh_token"], DE)
    _, download = run_report(sandbox, client, reportType=LISTINGS, marketplaceIds=[DE])
    assert download.headers["content-type"] == "text/plain; charset=Cp1252"
    raw = gzip.decompress(download.content)
    assert "für Küche".encode("cp1252") in raw and "€".encode("cp1252") in raw
    assert "für".encode() not in raw  # not UTF-8
    header, rows = parse(raw.decode("cp1252"))
    assert header == reference_header(LISTINGS)
    truth = load_world(sandbox.state_dir).listings(seller["seller_id"], DE)
    assert [r["seller-sku"] for r in rows] == [t["seller-sku"] for t in truth]
    assert [r["item-name"] for r in rows] == [
        t["item-name"].encode("cp1252", errors="replace").decode("cp1252") for t in truth
    ]
    us_client = sandbox.reports(seller["refresh_token"], US)
    _, us_download = run_report(sandbox, us_client, reportType=LISTINGS, marketplaceIds=[US])
    assert us_download.headers["content-type"] == "text/plain; charset=UTF-8"


def test_estimated_fees_match_what_finances_charge_per_unit(sandbox, seller):
    client = sandbox.reports(seller["refresh_token"])
    _, download = run_report(sandbox, client, reportType=FEES, marketplaceIds=[US], dataStartTime=days_ago(3))
    header, rows = parse(gzip.decompress(download.content).decode("utf-8"))
    assert header == reference_header(FEES)
    assert rows and {r["currency"] for r in rows} == {"USD"}
    fees = {r["sku"]: Decimal(r["expected-fulfillment-fee-per-unit"]) for r in rows}
    world = load_world(sandbox.state_dir)
    now = dt.datetime.now(dt.UTC)
    checked = 0
    for ev in world.money_events(seller["seller_id"], now - dt.timedelta(days=10), now, [US]):
        fee = dict(ev.fees).get("FBAPerUnitFulfillmentFee")
        if ev.kind == "Order" and fee is not None and ev.item.sku.sku in fees:
            assert -fee == fees[ev.item.sku.sku] * ev.item.quantity
            checked += 1
    assert checked > 10
    for r in rows:
        assert Decimal(r["estimated-referral-fee-per-unit"]) == (Decimal(r["sales-price"]) * Decimal("0.15")).quantize(
            Decimal("0.01"), rounding="ROUND_HALF_UP"
        )


def test_sales_and_traffic_units_and_sales_per_day_equal_the_orders(sandbox, seller):
    client = sandbox.reports(seller["refresh_token"])
    start, end = days_ago(9), days_ago(2)
    _, download = run_report(
        sandbox,
        client,
        reportType=TRAFFIC,
        marketplaceIds=[US],
        dataStartTime=start,
        dataEndTime=end,
        reportOptions={"dateGranularity": "DAY", "asinGranularity": "SKU"},
    )
    doc = json.loads(gzip.decompress(download.content).decode("utf-8"))
    assert doc["reportSpecification"]["reportOptions"] == {"dateGranularity": "DAY", "asinGranularity": "SKU"}
    world = load_world(sandbox.state_dir)
    assert len(doc["salesAndTrafficByDate"]) == 7
    for day in doc["salesAndTrafficByDate"]:
        d = dt.date.fromisoformat(day["date"])
        truth = world.order_summary(seller["seller_id"], d, d + dt.timedelta(days=1), [US])
        assert day["salesByDate"]["unitsOrdered"] == truth["units"]
        assert Decimal(str(day["salesByDate"]["orderedProductSales"]["amount"])) == Decimal(truth["item_price"]["USD"])
        traffic = day["trafficByDate"]
        assert traffic["sessions"] >= day["salesByDate"]["unitsOrdered"] and traffic["pageViews"] >= traffic["sessions"]
    assert all("sku" in row and "childAsin" in row for row in doc["salesAndTrafficByAsin"])
    assert sum(r["salesByAsin"]["unitsOrdered"] for r in doc["salesAndTrafficByAsin"]) == sum(
        d["salesByDate"]["unitsOrdered"] for d in doc["salesAndTrafficByDate"]
    )


def test_sales_and_traffic_is_fatal_beyond_two_years_and_refuses_two_marketplaces(sandbox, seller):
    client = sandbox.reports(seller["refresh_token"])
    report, download = run_report(sandbox, client, reportType=TRAFFIC, marketplaceIds=[US], dataStartTime=days_ago(800))
    assert report["processingStatus"] == "FATAL"
    assert "2 years" in json.loads(gzip.decompress(download.content))["errorDetails"]
    from sp_api.base import SellingApiBadRequestException

    with pytest.raises(SellingApiBadRequestException):
        client.create_report(reportType=TRAFFIC, marketplaceIds=[US, DE])


def test_fulfilled_shipments_carry_the_worlds_pii_and_match_the_truth(sandbox):
    seller = sandbox.new_seller([US, DE])
    client = sandbox.reports(seller["refresh_token"])
    start, end = days_ago(12), days_ago(5)
    _, download = run_report(
        sandbox, client, reportType=SHIPMENTS, marketplaceIds=[US, DE], dataStartTime=start, dataEndTime=end
    )
    header, rows = parse(gzip.decompress(download.content).decode("utf-8"))
    assert header == reference_header(SHIPMENTS)
    world = load_world(sandbox.state_dir)
    truth = list(world.fulfilled_shipments(seller["seller_id"], start, end))
    assert [r["amazon-order-item-id"] for r in rows] == [t["amazon-order-item-id"] for t in truth]
    assert rows and {r["fulfillment-channel"] for r in rows} == {"AFN"}
    pii = world.pii_values(seller["seller_id"], days_ago(14), end)
    values = {r[c] for r in rows for c in PII_COLUMNS} - {""}
    assert values <= pii
    assert all("@" in r["buyer-email"] and r["buyer-name"] and r["ship-address-1"] for r in rows)


def test_fulfilled_shipments_over_a_month_end_fatal(sandbox):
    client = sandbox.reports(sandbox.new_seller([US])["refresh_token"])
    report, download = run_report(
        sandbox, client, reportType=SHIPMENTS, marketplaceIds=[US], dataStartTime=days_ago(45), dataEndTime=days_ago(1)
    )
    assert report["processingStatus"] == "FATAL"
    assert "1 month" in json.loads(gzip.decompress(download.content))["errorDetails"]
    ok, _ = run_report(
        sandbox, client, reportType=SHIPMENTS, marketplaceIds=[US], dataStartTime=days_ago(31), dataEndTime=days_ago(1)
    )
    assert ok["processingStatus"] == "DONE"


def test_new_documents_are_byte_identical_for_the_same_seed():
    from spapi_sandbox.reports.documents import KINDS, document_gzip

    now = dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC)
    profile = SellerProfile.from_dict("A1DETERMINISM", [US, DE], {"skus": 20})
    for report_type, mkts in ((MYI, [US]), (LISTINGS, [DE]), (FEES, [US]), (TRAFFIC, [US]), (SHIPMENTS, [US, DE])):
        report = {
            "reportId": "1",
            "reportType": report_type,
            "sellerId": profile.seller_id,
            "marketplaceIds": mkts,
            "dataStartTime": "2026-11-10T00:00:00+00:00",
            "dataEndTime": "2026-11-14T00:00:00+00:00",
            "createdTime": now.isoformat(),
            "reportOptions": {},
            "charset": KINDS[report_type].charset({"marketplaceIds": mkts}),
        }
        first = b"".join(document_gzip(World(3, [profile], now=now), report))
        again = b"".join(document_gzip(World(3, [profile], now=now), report))
        assert first == again and len(first) > 200
