"""Faults on demand: each one breaks the answer, and none changes what a correct client ends up with."""

from __future__ import annotations

import csv
import gzip
import io
import zlib

import httpx
import pytest

from .conftest import US, wait_for_report

ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
START, END = "2026-04-01T00:00:00Z", "2026-04-04T00:00:00Z"


@pytest.fixture
def seller(sandbox):
    seller = sandbox.new_seller([US])
    yield seller
    with sandbox.admin() as admin:
        admin.delete("/_sandbox/faults")


def _fault(sandbox, **spec) -> dict:
    with sandbox.admin() as admin:
        r = admin.post("/_sandbox/faults", json=spec)
    assert r.status_code == 201, r.text
    return r.json()


def _document(sandbox, client) -> tuple[dict, bytes]:
    report = wait_for_report(
        client,
        client.create_report(reportType=ORDERS, dataStartTime=START, dataEndTime=END).payload["reportId"],
    )
    if report["processingStatus"] != "DONE":
        return report, b""
    url = client.get_report_document(report["reportDocumentId"]).payload["url"]
    return report, httpx.get(url, verify=sandbox.ssl_context).content


def _rows_by_key(data: bytes, charset: str = "utf-8") -> dict[tuple[str, str], dict]:
    """A defensive parser: by header name, skipping lines of the wrong width, de-duplicating by key."""
    lines = list(
        csv.reader(io.StringIO(gzip.decompress(data).decode(charset)), delimiter="\t", quoting=csv.QUOTE_NONE)
    )
    header = lines[0]
    rows = [dict(zip(header, line, strict=True)) for line in lines[1:] if len(line) == len(header)]
    return {
        (r["amazon-order-id"], r["sku"]): {k: r[k] for k in ("purchase-date", "item-price", "quantity")}
        for r in rows
    }


def test_scripted_500_then_success(sandbox, seller):
    _fault(sandbox, kind="http_500", seller_id=seller["seller_id"], operations=["getReports"], count=1)
    headers = {"x-amz-access-token": sandbox.access_token(seller["refresh_token"])}
    url = f"{sandbox.base_url}/reports/2021-06-30/reports?reportTypes={ORDERS}"
    first = httpx.get(url, headers=headers, verify=sandbox.ssl_context)
    second = httpx.get(url, headers=headers, verify=sandbox.ssl_context)
    assert first.status_code == 500 and first.json()["errors"][0]["code"] == "InternalFailure"
    assert second.status_code == 200


def test_throttle_storm_answers_quota_exceeded_for_everything(sandbox, seller):
    _fault(sandbox, kind="throttle", seller_id=seller["seller_id"], probability=1.0)
    r = httpx.get(
        f"{sandbox.base_url}/reports/2021-06-30/reports?reportTypes={ORDERS}",
        verify=sandbox.ssl_context,
        headers={"x-amz-access-token": sandbox.access_token(seller["refresh_token"])},
    )
    assert r.status_code == 429 and r.json()["errors"][0]["code"] == "QuotaExceeded"
    assert "x-amzn-ratelimit-limit" not in r.headers


def test_fatal_report_carries_an_error_document(sandbox, seller):
    _fault(sandbox, kind="fatal_report", seller_id=seller["seller_id"], count=1)
    client = sandbox.reports(seller["refresh_token"])
    report, data = _document(sandbox, client)
    assert report["processingStatus"] == "FATAL"
    url = client.get_report_document(report["reportDocumentId"]).payload["url"]
    assert "errorDetails" in gzip.decompress(httpx.get(url, verify=sandbox.ssl_context).content).decode()


def test_content_faults_keep_every_real_row(sandbox, seller):
    client = sandbox.reports(seller["refresh_token"])
    _, clean = _document(sandbox, client)
    for kind in ("extra_column", "reordered_columns", "missing_column", "malformed_rows", "duplicate_rows"):
        _fault(sandbox, kind=kind, seller_id=seller["seller_id"], count=1)
    _, faulty = _document(sandbox, client)
    assert faulty != clean
    text = gzip.decompress(faulty).decode()
    assert "#MALFORMED" in text and "signature-confirmation-recommended" in text.split("\n", 1)[0]
    assert len(text.splitlines()) > len(gzip.decompress(clean).decode().splitlines())
    assert _rows_by_key(faulty) == _rows_by_key(clean)


def test_cp1252_document_decodes_to_the_same_rows(sandbox, seller):
    client = sandbox.reports(seller["refresh_token"])
    _, clean = _document(sandbox, client)
    _fault(sandbox, kind="cp1252", seller_id=seller["seller_id"], count=1)
    report = wait_for_report(
        client,
        client.create_report(reportType=ORDERS, dataStartTime=START, dataEndTime=END).payload["reportId"],
    )
    url = client.get_report_document(report["reportDocumentId"]).payload["url"]
    r = httpx.get(url, verify=sandbox.ssl_context)
    assert r.headers["content-type"] == "text/plain; charset=Cp1252"
    assert _rows_by_key(r.content, "cp1252") == _rows_by_key(clean)


def test_truncated_download_fails_to_decompress_and_a_retry_succeeds(sandbox, seller):
    client = sandbox.reports(seller["refresh_token"])
    report = wait_for_report(
        client,
        client.create_report(reportType=ORDERS, dataStartTime=START, dataEndTime=END).payload["reportId"],
    )
    url = client.get_report_document(report["reportDocumentId"]).payload["url"]
    _fault(sandbox, kind="truncated_gzip", seller_id=seller["seller_id"], count=1)
    broken = httpx.get(url, verify=sandbox.ssl_context).content
    with pytest.raises((EOFError, zlib.error)):
        gzip.decompress(broken)
    assert gzip.decompress(httpx.get(url, verify=sandbox.ssl_context).content)


def test_expired_url_fault_hands_out_a_dead_url(sandbox, seller):
    client = sandbox.reports(seller["refresh_token"])
    report = wait_for_report(
        client,
        client.create_report(reportType=ORDERS, dataStartTime=START, dataEndTime=END).payload["reportId"],
    )
    _fault(sandbox, kind="expired_url", seller_id=seller["seller_id"], count=1)
    url = client.get_report_document(report["reportDocumentId"]).payload["url"]
    r = httpx.get(url, verify=sandbox.ssl_context)
    assert r.status_code == 403 and "<Code>AccessDenied</Code>" in r.text


def test_faults_do_not_change_the_truth(sandbox, seller):
    with sandbox.admin() as admin:
        truth_url = f"/_sandbox/sellers/{seller['seller_id']}/truth/orders"
        before = admin.get(truth_url, params={"start": "2026-04-01", "end": "2026-04-04"}).json()
        for kind in ("http_500", "duplicate_rows", "malformed_rows", "fatal_report"):
            _fault(sandbox, kind=kind, probability=1.0)
        after = admin.get(truth_url, params={"start": "2026-04-01", "end": "2026-04-04"}).json()
        unknown = admin.post("/_sandbox/faults", json={"kind": "meteor"})
    assert before == after
    assert unknown.status_code == 400
