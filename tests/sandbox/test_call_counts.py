"""The call counter of the admin API: what Amazon would have metered, per seller and operation, read-only."""

from __future__ import annotations

import httpx

from .conftest import US

ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"


def _calls(sandbox, seller_id: str | None = None) -> dict:
    with sandbox.admin() as admin:
        r = admin.get("/_sandbox/calls", params={"seller_id": seller_id} if seller_id else None)
    assert r.status_code == 200, r.text
    return r.json()


def test_calls_are_counted_per_seller_and_operation_as_admitted_or_throttled(sandbox):
    seller, other = sandbox.new_seller([US]), sandbox.new_seller([US])
    token = sandbox.access_token(seller["refresh_token"])
    url = f"{sandbox.base_url}/reports/2021-06-30/reports"
    with httpx.Client(verify=sandbox.ssl_context, headers={"x-amz-access-token": token}) as c:
        codes = [c.post(url, json={"reportType": ORDERS, "marketplaceIds": [US]}).status_code for _ in range(20)]

    answer = _calls(sandbox, seller["seller_id"])
    assert answer["calls"] == [
        {"seller_id": seller["seller_id"], "operation": "createReport", "admitted": codes.count(202),
         "throttled": codes.count(429), "faulted": 0},
    ]
    assert codes.count(429) > 0
    assert answer["time_scale"] == 0.01 and answer["report_processing_seconds"] == 30.0
    assert _calls(sandbox, other["seller_id"])["calls"] == []
    assert seller["seller_id"] in {row["seller_id"] for row in _calls(sandbox)["calls"]}


def test_injected_faults_are_counted_apart_from_the_bucket(sandbox):
    seller = sandbox.new_seller([US])
    with sandbox.admin() as admin:
        admin.post("/_sandbox/faults", json={"kind": "http_503", "seller_id": seller["seller_id"],
                                             "operations": ["getReports"], "count": 1})
    token = sandbox.access_token(seller["refresh_token"])
    with httpx.Client(verify=sandbox.ssl_context, headers={"x-amz-access-token": token}) as c:
        first = c.get(f"{sandbox.base_url}/reports/2021-06-30/reports", params={"reportTypes": ORDERS})
        second = c.get(f"{sandbox.base_url}/reports/2021-06-30/reports", params={"reportTypes": ORDERS})
    assert (first.status_code, second.status_code) == (503, 200)
    [row] = _calls(sandbox, seller["seller_id"])["calls"]
    assert (row["operation"], row["admitted"], row["throttled"], row["faulted"]) == ("getReports", 1, 0, 1)


def test_call_counts_need_the_admin_token_and_cannot_be_changed(sandbox):
    url = f"{sandbox.base_url}/_sandbox/calls"
    assert httpx.get(url, verify=sandbox.ssl_context).status_code == 401
    with sandbox.admin() as admin:
        assert admin.delete("/_sandbox/calls").status_code == 405
        assert admin.post("/_sandbox/calls", json={}).status_code == 405


SALES_TRAFFIC = "GET_SALES_AND_TRAFFIC_REPORT"


def test_sales_and_traffic_is_capped_per_application_and_counted_per_application(sandbox):
    # docs/amazon/spapi-limits.md §1: once per 15 minutes per application across all its sellers, then 429
    # QuotaExceeded (at the sandbox's x0.01, 9 s; this test takes well under that).
    first, second = sandbox.new_seller([US]), sandbox.new_seller([US])
    url = f"{sandbox.base_url}/reports/2021-06-30/reports"
    body = {"reportType": SALES_TRAFFIC, "marketplaceIds": [US], "reportOptions": {"dateGranularity": "DAY"}}
    before = _calls(sandbox)
    with httpx.Client(verify=sandbox.ssl_context) as c:
        def create(seller, report_type=SALES_TRAFFIC):
            headers = {"x-amz-access-token": sandbox.access_token(seller["refresh_token"])}
            return c.post(url, json={**body, "reportType": report_type}, headers=headers)

        answers = [create(first), create(second), create(first), create(second, ORDERS)]
    assert [a.status_code for a in answers] == [202, 429, 429, 202]
    assert answers[1].json()["errors"][0]["code"] == "QuotaExceeded"
    after = _calls(sandbox)

    def count(answer, report_type, outcome):
        return sum(r[outcome] for r in answer["report_types"] if r["report_type"] == report_type)

    assert count(after, SALES_TRAFFIC, "admitted") - count(before, SALES_TRAFFIC, "admitted") == 1
    assert count(after, SALES_TRAFFIC, "throttled") - count(before, SALES_TRAFFIC, "throttled") == 2
    assert count(after, ORDERS, "admitted") - count(before, ORDERS, "admitted") == 1
    [app] = {r["client_id"] for r in after["applications"]}  # one LWA application in this sandbox

    def app_creates(answer, outcome):
        return sum(r[outcome] for r in answer["applications"] if r["operation"] == "createReport")

    assert app_creates(after, "admitted") - app_creates(before, "admitted") == 2
    assert app_creates(after, "throttled") - app_creates(before, "throttled") == 2
    # Per seller, as before: the refused call is the seller's throttled createReport.
    [row] = _calls(sandbox, second["seller_id"])["calls"]
    assert (row["operation"], row["admitted"], row["throttled"]) == ("createReport", 1, 1)
    with sandbox.admin() as admin:
        log = admin.get("/_sandbox/calls", params={"seller_id": second["seller_id"], "log": "true"}).json()["log"]
    assert [(e["report_type"], e["outcome"]) for e in log] == [(SALES_TRAFFIC, "throttled"), (ORDERS, "admitted")]
    assert log[0]["at"] <= log[1]["at"] and log[0]["client_id"] == app
