"""Data Kiosk in the sandbox: Amazon's model, its GraphQL errors, JSONL documents and pagination tokens."""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal

import httpx
import pytest

from .conftest import BR, DE, US
from .test_models import check

MODEL = "dataKiosk_2023-11-15.json"
BASE = "/dataKiosk/2023-11-15"
DAY = (dt.datetime.now(dt.UTC) - dt.timedelta(days=6)).date()


def by_date(start: dt.date, end: dt.date, marketplaces=(US,), fields="startDate endDate marketplaceId "
            "sales { orderedProductSales { amount currencyCode } unitsOrdered totalOrderItems } "
            "traffic { sessions pageViews }", granularity="DAY") -> str:
    ids = ", ".join(f'"{m}"' for m in marketplaces)
    return (f'query {{ analytics_salesAndTraffic_2024_04_24 {{ salesAndTrafficByDate(startDate: "{start}" '
            f'endDate: "{end}" aggregateBy: {granularity} marketplaceIds: [{ids}]) {{ {fields} }} }} }}')


def session_for(sandbox, marketplaces=(US,), profile=None) -> tuple[dict, httpx.Client]:
    seller = sandbox.new_seller(list(marketplaces), profile=profile or {"skus": 6, "orders_per_day": 12})
    token = sandbox.access_token(seller["refresh_token"])
    client = httpx.Client(base_url=sandbox.base_url, verify=sandbox.ssl_context,
                          headers={"x-amz-access-token": token})
    client.ssl_context = sandbox.ssl_context  # for the presigned downloads, outside the base URL
    return seller, client


def finished(client: httpx.Client, query_id: str) -> dict:
    """Poll getQuery through the raw client, checking every answer against the model."""
    for _ in range(300):
        query = client.get(f"{BASE}/queries/{query_id}").json()
        check(MODEL, "Query", query)
        if query["processingStatus"] not in ("IN_QUEUE", "IN_PROGRESS"):
            return query
        time.sleep(0.02)
    raise AssertionError(f"query {query_id} still processing")


def run(client: httpx.Client, query: str, token: str | None = None) -> dict:
    body = {"query": query, **({"paginationToken": token} if token else {})}
    created = client.post(f"{BASE}/queries", json=body)
    assert created.status_code == 202, created.text
    check(MODEL, "CreateQueryResponse", created.json())
    return finished(client, created.json()["queryId"])


def fetch(client: httpx.Client, document_id: str) -> httpx.Response:
    meta = client.get(f"{BASE}/documents/{document_id}")
    assert meta.status_code == 200
    check(MODEL, "GetDocumentResponse", meta.json())
    return httpx.get(meta.json()["documentUrl"], verify=client.ssl_context)


def download(client: httpx.Client, document_id: str) -> list[dict]:
    answer = fetch(client, document_id)
    assert answer.status_code == 200 and answer.headers["content-encoding"] == "gzip"
    return [json.loads(line) for line in answer.text.splitlines()]


@pytest.fixture(scope="module")
def seller_session(sandbox):
    seller, client = session_for(sandbox, (US, DE))
    yield seller, client
    client.close()


def test_a_range_query_answers_jsonl_records_that_equal_the_orders_truth(sandbox, seller_session):
    seller, client = seller_session
    first = DAY - dt.timedelta(days=2)
    query = run(client, by_date(first, DAY, (US, DE)))
    assert query["processingStatus"] == "DONE" and "pagination" not in query
    records = download(client, query["dataDocumentId"])
    assert [(r["startDate"], r["marketplaceId"]) for r in records] == [
        (str(first + dt.timedelta(days=n)), m) for n in range(3) for m in (US, DE)]
    assert set(records[0]) == {"startDate", "endDate", "marketplaceId", "sales", "traffic"}  # what was asked
    assert set(records[0]["traffic"]) == {"sessions", "pageViews"}
    with sandbox.admin() as admin:
        for record in records:
            day = dt.date.fromisoformat(record["startDate"])
            truth = admin.get(f"/_sandbox/sellers/{seller['seller_id']}/truth/orders", params={
                "start": str(day), "end": str(day + dt.timedelta(days=1)), "marketplace_ids": record["marketplaceId"],
            }).json()
            sales = record["sales"]
            assert sales["unitsOrdered"] == truth["units"]
            (currency, price), = truth["item_price"].items()
            ordered = sales["orderedProductSales"]
            assert (ordered["currencyCode"], Decimal(str(ordered["amount"]))) == (currency, Decimal(price))
    listed = client.get(f"{BASE}/queries", params={"processingStatuses": "DONE"})
    check(MODEL, "GetQueriesResponse", listed.json())
    assert query["queryId"] in [q["queryId"] for q in listed.json()["queries"]]


def test_by_sku_records_carry_each_sku_of_the_day(seller_session):
    _, client = seller_session
    query = by_date(DAY, DAY, fields="startDate endDate sku childAsin parentAsin sales { unitsOrdered unitsShipped } "
                    "traffic { sessions sessionPercentage }").replace("salesAndTrafficByDate", "salesAndTrafficByAsin")
    query = query.replace("aggregateBy: DAY", "aggregateBy: SKU")
    records = download(client, run(client, query)["dataDocumentId"])
    assert len(records) == 6 and all(r["startDate"] == r["endDate"] == str(DAY) for r in records)
    assert round(sum(r["traffic"]["sessionPercentage"] for r in records)) == 100


def test_pages_follow_the_next_token_of_the_same_query(sandbox):
    _, client = session_for(sandbox, profile={"skus": 6, "orders_per_day": 12, "data_kiosk_records_per_document": 3})
    with client:
        text = by_date(DAY - dt.timedelta(days=6), DAY)
        pages, token = [], None
        while True:
            query = run(client, text, token)
            pages.append(download(client, query["dataDocumentId"]))
            token = query.get("pagination", {}).get("nextToken")
            if not token:
                break
        assert [len(p) for p in pages] == [3, 3, 1]
        assert [r["startDate"] for p in pages for r in p] == [str(DAY - dt.timedelta(days=n)) for n in range(6, -1, -1)]
        other = client.post(f"{BASE}/queries", json={"query": by_date(DAY, DAY), "paginationToken": token or "x.y"})
        assert other.status_code == 400
        check(MODEL, "ErrorList", other.json())


@pytest.mark.parametrize(("query", "details"), [
    ('query { invalidSampleQuery(startDate: "2026-03-01") { sales { date } } }',
     "Query 'invalidSampleQuery' is not supported."),
    (by_date(DAY, DAY, fields="startDate noSuchField"), "Cannot query field 'noSuchField'"),
    (by_date(DAY, DAY, granularity="HOUR"), "Value 'HOUR' does not exist in 'DateGranularity' enum"),
    (by_date(DAY, DAY).replace(str(DAY), "2026-02-30", 1), "RFC-3339 full date"),
    (by_date(DAY, DAY, (BR,)), f"not registered in marketplace {BR}"),
    (by_date(DAY, DAY, fields="startDate " * 1000), "longer than 8000 characters after whitespace removal"),
    ("query { analytics_salesAndTraffic_2024_04_24 {", "Syntax Error"),
])
def test_an_invalid_query_gets_amazons_400(seller_session, query, details):
    _, client = seller_session
    answer = client.post(f"{BASE}/queries", json={"query": query})
    assert answer.status_code == 400
    check(MODEL, "ErrorList", answer.json())
    (error,) = answer.json()["errors"]
    assert error["code"] == "InvalidInput" and details in error["details"], error


def test_no_data_is_done_without_a_document_and_three_years_back_is_fatal(seller_session):
    _, client = seller_session
    monday = DAY - dt.timedelta(days=DAY.weekday() + 7)
    empty = run(client, by_date(monday, monday + dt.timedelta(days=4), granularity="WEEK"))  # no whole week
    assert empty["processingStatus"] == "DONE" and "dataDocumentId" not in empty
    fatal = run(client, by_date(DAY - dt.timedelta(days=3 * 365), DAY))
    assert fatal["processingStatus"] == "FATAL"
    error = fetch(client, fatal["errorDocumentId"]).json()
    assert "two years" in error["errorMessage"]
    missing = client.get(f"{BASE}/queries/123")
    assert missing.status_code == 404
    check(MODEL, "ErrorList", missing.json())
