"""Same seed, same request: byte-identical documents, whichever process or moment makes them."""

from __future__ import annotations

import httpx

from spapi_sandbox.reports.documents import document_gzip
from spapi_sandbox.world import SellerProfile, World

from .conftest import DE, US, wait_for_report

ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
START, END = "2026-06-01T00:00:00Z", "2026-06-04T00:00:00Z"


def _download(sandbox, client, report_id: str) -> bytes:
    report = wait_for_report(client, report_id)
    url = client.get_report_document(report["reportDocumentId"]).payload["url"]
    r = httpx.get(url, verify=sandbox.ssl_context)
    assert r.status_code == 200
    return r.content


def test_same_seed_gives_byte_identical_documents_across_reports_and_processes(sandbox):
    seller = sandbox.new_seller([US, DE])
    client = sandbox.reports(seller["refresh_token"])
    ids = [
        client.create_report(
            reportType=ORDERS, marketplaceIds=[US, DE], dataStartTime=START, dataEndTime=END
        ).payload["reportId"]
        for _ in range(2)
    ]
    first, second = (_download(sandbox, client, i) for i in ids)
    assert first == second and len(first) > 1000

    # A fresh process (this one) with the same seed renders the very same bytes, with no server state.
    profile = SellerProfile.from_dict(seller["seller_id"], [US, DE], {})
    report = {
        "reportId": "any",
        "reportType": ORDERS,
        "sellerId": seller["seller_id"],
        "marketplaceIds": [US, DE],
        "dataStartTime": START,
        "dataEndTime": END,
        "createdTime": "2026-11-01T00:00:00+00:00",
    }
    assert b"".join(document_gzip(World(sandbox.seed, [profile]), report)) == first
    assert b"".join(document_gzip(World(sandbox.seed + 1, [profile]), report)) != first
