"""getReports paging: page size, nextToken as the only parameter, cancelReport of queued reports."""

from __future__ import annotations

import httpx
import pytest
from sp_api.base.exceptions import SellingApiBadRequestException

from .conftest import US, wait_for_report

ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"


def test_pages_follow_next_token_sent_alone(sandbox):
    seller = sandbox.new_seller([US])
    client = sandbox.reports(seller["refresh_token"])
    made = {client.create_report(reportType=ORDERS).payload["reportId"] for _ in range(5)}
    first = client.get_reports(reportTypes=[ORDERS], pageSize=2)  # the client moves nextToken to .next_token
    assert len(first.payload["reports"]) == 2 and first.next_token
    seen = [r["reportId"] for r in first.payload["reports"]]
    token = first.next_token
    while token:
        page = client.get_reports(nextToken=token)
        seen += [r["reportId"] for r in page.payload["reports"]]
        token = page.next_token
    assert set(seen) == made and len(seen) == 5
    with pytest.raises(SellingApiBadRequestException):
        client.get_reports(nextToken=first.next_token, reportTypes=[ORDERS])


def test_get_reports_needs_report_types_or_next_token(sandbox):
    seller = sandbox.new_seller([US])
    r = httpx.get(
        f"{sandbox.base_url}/reports/2021-06-30/reports",
        verify=sandbox.ssl_context,
        headers={"x-amz-access-token": sandbox.access_token(seller["refresh_token"])},
    )
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "InvalidInput"


def test_a_queued_report_can_be_cancelled_and_a_finished_one_cannot(sandbox):
    seller = sandbox.new_seller([US])
    client = sandbox.reports(seller["refresh_token"])
    queued = client.create_report(reportType=ORDERS).payload["reportId"]
    client.cancel_report(queued)
    assert client.get_report(queued).payload["processingStatus"] == "CANCELLED"
    done = client.create_report(reportType=ORDERS).payload["reportId"]
    wait_for_report(client, done)
    with pytest.raises(SellingApiBadRequestException):
        client.cancel_report(done)


def test_reports_of_one_seller_are_invisible_to_another(sandbox):
    owner, other = sandbox.new_seller([US]), sandbox.new_seller([US])
    report_id = sandbox.reports(owner["refresh_token"]).create_report(reportType=ORDERS).payload["reportId"]
    r = httpx.get(
        f"{sandbox.base_url}/reports/2021-06-30/reports/{report_id}",
        verify=sandbox.ssl_context,
        headers={"x-amz-access-token": sandbox.access_token(other["refresh_token"])},
    )
    assert r.status_code == 404
