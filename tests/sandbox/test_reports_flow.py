"""The all-orders report end to end with the real python-amazon-sp-api client: create, poll, download."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import re
from decimal import Decimal

import httpx

from spapi_sandbox.world import load_world

from .conftest import BR, US, reference_header, wait_for_report

ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
# Amazon's documented header (tests/fixtures), on purpose not imported from spapi_sandbox.
EXPECTED_HEADER = reference_header(ORDERS)


def _range(days_back_start: int, days_back_end: int) -> tuple[str, str]:
    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=days_back_start)
    end = today - dt.timedelta(days=days_back_end)
    return f"{start}T00:00:00Z", f"{end}T00:00:00Z"


def _parse(document: str) -> tuple[list[str], list[dict]]:
    reader = csv.reader(io.StringIO(document), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader)
    return header, [dict(zip(header, row, strict=True)) for row in reader]


def test_all_orders_report_flows_from_create_to_gzip_download_and_matches_the_truth(sandbox):
    seller = sandbox.new_seller([US, BR])
    client = sandbox.reports(seller["refresh_token"])
    start, end = _range(10, 7)

    created = client.create_report(
        reportType=ORDERS, marketplaceIds=[US, BR], dataStartTime=start, dataEndTime=end
    )
    seen = {client.get_report(created.payload["reportId"]).payload["processingStatus"]}
    report = wait_for_report(client, created.payload["reportId"])
    seen.add(report["processingStatus"])
    assert report["processingStatus"] == "DONE"
    assert seen & {"IN_QUEUE", "IN_PROGRESS"}, "the report was never seen in processing"

    doc = client.get_report_document(report["reportDocumentId"], download=True)
    assert doc.payload["compressionAlgorithm"] == "GZIP"
    header, rows = _parse(doc.payload["document"])
    assert header == EXPECTED_HEADER

    truth = list(load_world(sandbox.state_dir).order_items(seller["seller_id"], start, end))
    assert len(rows) == len(truth) > 0
    assert [r["amazon-order-id"] for r in rows] == [t["amazon-order-id"] for t in truth]
    assert {r["currency"] for r in rows} == {"USD", "BRL"}
    assert {r["fulfillment-channel"] for r in rows} == {"Amazon", "Merchant"}
    assert all(
        re.fullmatch(r"\d{3}\.\d{3}\.\d{3}-\d{2}", r["cpf"]) for r in rows if r["ship-country"] == "BR"
    )
    assert all(r["cpf"] == "" for r in rows if r["ship-country"] != "BR")
    assert all(r["ship-city"] and r["ship-postal-code"] for r in rows)
    in_range = all(start <= r["purchase-date"].replace("+00:00", "Z") < end for r in rows)
    assert in_range, "a row lies outside [dataStartTime, dataEndTime)"
    loaded_usd = sum(Decimal(r["item-price"]) for r in rows if r["currency"] == "USD" and r["item-price"])
    truth_usd = sum(t["item-price"] for t in truth if t["currency"] == "USD" and t["item-price"] is not None)
    assert loaded_usd == truth_usd


def test_document_download_is_gzip_text_plain_utf8_without_content_encoding(sandbox):
    seller = sandbox.new_seller([US])
    client = sandbox.reports(seller["refresh_token"])
    start, end = _range(5, 4)
    report = wait_for_report(
        client,
        client.create_report(reportType=ORDERS, dataStartTime=start, dataEndTime=end).payload["reportId"],
    )
    url = client.get_report_document(report["reportDocumentId"]).payload["url"]
    assert url.startswith(sandbox.base_url)
    r = httpx.get(url, verify=sandbox.ssl_context)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=UTF-8"
    assert "content-encoding" not in r.headers
    assert r.content[:2] == b"\x1f\x8b"
    assert gzip.decompress(r.content).decode("utf-8").split("\n", 1)[0].split("\t") == EXPECTED_HEADER


def test_a_range_without_orders_ends_cancelled_without_a_document(sandbox):
    seller = sandbox.new_seller([US])
    client = sandbox.reports(seller["refresh_token"])
    # Before the world's first day (today - 730 days) nothing exists.
    report = wait_for_report(
        client,
        client.create_report(
            reportType=ORDERS,
            dataStartTime="2019-01-01T00:00:00Z",
            dataEndTime="2019-01-05T00:00:00Z",
        ).payload["reportId"],
    )
    assert report["processingStatus"] == "CANCELLED"
    assert "reportDocumentId" not in report


def test_expired_document_url_answers_403_xml_access_denied(sandbox):
    seller = sandbox.new_seller([US])
    client = sandbox.reports(seller["refresh_token"])
    start, end = _range(3, 2)
    report = wait_for_report(
        client,
        client.create_report(reportType=ORDERS, dataStartTime=start, dataEndTime=end).payload["reportId"],
    )
    url = client.get_report_document(report["reportDocumentId"]).payload["url"]
    import time

    time.sleep(300 * 0.01 + 0.3)  # the URL lives 5 Amazon-minutes, scaled
    r = httpx.get(url, verify=sandbox.ssl_context)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/xml")
    assert "<Code>AccessDenied</Code>" in r.text and "Request has expired" in r.text

