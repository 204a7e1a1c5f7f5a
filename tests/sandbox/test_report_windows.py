"""The sandbox enforces the report windows Amazon publishes, and restates a day's traffic like Amazon does."""

from __future__ import annotations

import datetime as dt
import gzip
import json

from spapi_sandbox.world import load_world

from .conftest import US
from .test_inventory_and_business_reports import days_ago, run_report

ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
SALES_AND_TRAFFIC = "GET_SALES_AND_TRAFFIC_REPORT"


def test_an_orders_report_over_30_days_fails_with_amazons_message_and_30_days_are_served(sandbox):
    client = sandbox.reports(sandbox.new_seller([US])["refresh_token"])
    report, download = run_report(sandbox, client, reportType=ORDERS, marketplaceIds=[US],
                                  dataStartTime=days_ago(32), dataEndTime=days_ago(1))
    assert report["processingStatus"] == "FATAL"
    # selling-partner-api-models issue 2591: the text Amazon puts in the document of a longer range.
    assert json.loads(gzip.decompress(download.content))["errorDetails"] == (
        "Date range exceeded. Report can be requested only upto 30 days")
    ok, _ = run_report(sandbox, client, reportType=ORDERS, marketplaceIds=[US],
                       dataStartTime=days_ago(31), dataEndTime=days_ago(1))
    assert ok["processingStatus"] == "DONE"


def _sessions(sandbox, client, day: str) -> int:
    report, download = run_report(sandbox, client, reportType=SALES_AND_TRAFFIC, marketplaceIds=[US],
                                  dataStartTime=f"{day}T00:00:00Z", dataEndTime=f"{day}T23:59:59Z",
                                  reportOptions={"dateGranularity": "DAY", "asinGranularity": "SKU"})
    assert report["processingStatus"] == "DONE", report
    body = json.loads(gzip.decompress(download.content))
    return body["salesAndTrafficByDate"][0]["trafficByDate"]["sessions"]


def test_a_restated_day_shows_new_traffic_and_other_days_keep_theirs(sandbox):
    seller = sandbox.new_seller([US], {"orders_per_day": 40, "skus": 20})
    client = sandbox.reports(seller["refresh_token"])
    today = dt.datetime.now(dt.UTC).date()
    restated, kept = str(today - dt.timedelta(days=2)), str(today - dt.timedelta(days=3))
    before, other = _sessions(sandbox, client, restated), _sessions(sandbox, client, kept)
    with sandbox.admin() as admin:
        answer = admin.post(f"/_sandbox/sellers/{seller['seller_id']}/restate-traffic",
                            json={"marketplace_id": US, "day": restated})
        assert answer.status_code == 200, answer.text
        assert admin.post(f"/_sandbox/sellers/{seller['seller_id']}/restate-traffic",
                          json={"marketplace_id": "A1PA6795UKMFR9", "day": restated}).status_code == 400
    after = _sessions(sandbox, client, restated)
    assert after != before
    assert _sessions(sandbox, client, kept) == other
    # The world the sandbox serves from says the same.
    world = load_world(sandbox.state_dir)
    start = dt.datetime.fromisoformat(f"{restated}T00:00:00+00:00")
    truth = world.sales_and_traffic(seller["seller_id"], US, start, start + dt.timedelta(days=1), "DAY", "SKU")
    assert truth["salesAndTrafficByDate"][0]["trafficByDate"]["sessions"] == after
