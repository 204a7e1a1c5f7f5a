"""Every JSON answer of the sandbox validates against Amazon's published models in sp-api-models/."""

from __future__ import annotations

import datetime as dt
import json
import time

import httpx
import jsonschema
import pytest

from .conftest import MODELS_DIR, US, wait_for_report

ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"


FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_iso_datetime(value) -> bool:
    # jsonschema checks date-time only with an optional extra package; ISO 8601 with an offset is the rule.
    return (
        not isinstance(value, str)
        or dt.datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    )


def validator(model_file: str, definition: str) -> jsonschema.Draft4Validator:
    path = MODELS_DIR / model_file
    assert path.exists(), f"Amazon's model {model_file} is missing from {MODELS_DIR}"
    model = json.loads(path.read_text())
    schema = {"$ref": f"#/definitions/{definition}", "definitions": model["definitions"]}
    return jsonschema.Draft4Validator(schema, format_checker=FORMATS)


def check(model_file: str, definition: str, body) -> None:
    errors = list(validator(model_file, definition).iter_errors(body))
    assert not errors, [e.message for e in errors]


@pytest.fixture(scope="module")
def session(sandbox):
    seller = sandbox.new_seller([US])
    token = sandbox.access_token(seller["refresh_token"])
    client = httpx.Client(
        base_url=sandbox.base_url, verify=sandbox.ssl_context, headers={"x-amz-access-token": token}
    )
    yield client
    client.close()


def test_validator_rejects_a_wrong_body():
    report = validator("reports_2021-06-30.json", "Report")
    assert list(report.iter_errors({"reportId": 1}))
    assert list(
        report.iter_errors(
            {"reportId": "1", "reportType": "X", "processingStatus": "DONE", "createdTime": "yesterday"}
        )
    )


def test_report_operations_validate_against_the_reports_model(sandbox, session):
    created = session.post(
        "/reports/2021-06-30/reports",
        json={
            "reportType": ORDERS,
            "marketplaceIds": [US],
            "dataStartTime": "2026-01-01T00:00:00Z",
            "dataEndTime": "2026-01-03T00:00:00Z",
        },
    )
    assert created.status_code == 202
    check("reports_2021-06-30.json", "CreateReportResponse", created.json())
    report_id = created.json()["reportId"]
    first = session.get(f"/reports/2021-06-30/reports/{report_id}")
    check("reports_2021-06-30.json", "Report", first.json())
    for _ in range(200):  # poll through the raw session, so every body is checked
        report = session.get(f"/reports/2021-06-30/reports/{report_id}").json()
        check("reports_2021-06-30.json", "Report", report)
        if report["processingStatus"] == "DONE":
            break
        time.sleep(0.05)
    assert report["processingStatus"] == "DONE"
    document = session.get(f"/reports/2021-06-30/documents/{report['reportDocumentId']}")
    check("reports_2021-06-30.json", "ReportDocument", document.json())
    listed = session.get("/reports/2021-06-30/reports", params={"reportTypes": ORDERS, "pageSize": 1})
    check("reports_2021-06-30.json", "GetReportsResponse", listed.json())


def test_error_answers_validate_as_error_lists(session):
    bad = session.post("/reports/2021-06-30/reports", json={"reportType": ORDERS, "marketplaceIds": []})
    assert bad.status_code == 400
    check("reports_2021-06-30.json", "ErrorList", bad.json())
    missing = session.get("/reports/2021-06-30/reports/999")
    assert missing.status_code == 404
    check("reports_2021-06-30.json", "ErrorList", missing.json())


def test_polling_helper_reaches_done_with_the_real_client(sandbox):
    client = sandbox.reports(sandbox.new_seller([US])["refresh_token"])
    report = wait_for_report(client, client.create_report(reportType=ORDERS).payload["reportId"])
    check("reports_2021-06-30.json", "Report", dict(report))


def test_financial_events_validate_against_the_finances_model(sandbox):
    seller = sandbox.new_seller([US])
    token = sandbox.access_token(seller["refresh_token"])
    now = dt.datetime.now(dt.UTC)
    r = httpx.get(
        f"{sandbox.base_url}/finances/v0/financialEvents",
        verify=sandbox.ssl_context,
        headers={"x-amz-access-token": token},
        params={"PostedAfter": (now - dt.timedelta(days=60)).isoformat(), "MaxResultsPerPage": 100},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["payload"]["FinancialEvents"]["ShipmentEventList"]
    check("financesV0.json", "ListFinancialEventsResponse", body)
    bad = httpx.get(
        f"{sandbox.base_url}/finances/v0/financialEvents",
        verify=sandbox.ssl_context,
        headers={"x-amz-access-token": token},
    )
    assert bad.status_code == 400
    check("financesV0.json", "ListFinancialEventsResponse", bad.json())


def test_transactions_validate_against_the_finances_2024_06_19_model(sandbox):
    seller = sandbox.new_seller([US], profile={"deferred_payments": True})
    token = sandbox.access_token(seller["refresh_token"])
    now = dt.datetime.now(dt.UTC)
    url = f"{sandbox.base_url}/finances/2024-06-19/transactions"
    headers = {"x-amz-access-token": token}
    params = {"postedAfter": (now - dt.timedelta(days=40)).isoformat(), "marketplaceId": US}
    seen: set[str] = set()
    with httpx.Client(verify=sandbox.ssl_context, headers=headers) as client:
        for _ in range(40):  # every page of 40 days, so every kind of transaction is checked
            r = client.get(url, params=params)
            assert r.status_code == 200
            check("finances_2024-06-19.json", "ListTransactionsResponse", r.json())
            payload = r.json()["payload"]
            seen |= {t["transactionType"] for t in payload["transactions"]}
            if not payload.get("nextToken"):
                break
            params["nextToken"] = payload["nextToken"]
        bad = client.get(url, params={"marketplaceId": US})
    assert {"Shipment", "Refund", "ServiceFee", "Adjustment", "ProductAdsPayment", "CouponPayment"} <= seen
    assert bad.status_code == 400
    check("finances_2024-06-19.json", "ErrorList", bad.json())


def test_every_v0_event_list_and_the_event_groups_validate_against_the_finances_v0_model(sandbox):
    seller = sandbox.new_seller([US], profile={"orders_per_day": 15, "skus": 30})
    token = sandbox.access_token(seller["refresh_token"])
    now = dt.datetime.now(dt.UTC)
    headers = {"x-amz-access-token": token}
    params = {"PostedAfter": (now - dt.timedelta(days=40)).isoformat(), "MaxResultsPerPage": 100}
    filled: set[str] = set()
    with httpx.Client(base_url=sandbox.base_url, verify=sandbox.ssl_context, headers=headers) as client:
        for _ in range(60):
            r = client.get("/finances/v0/financialEvents", params=params)
            assert r.status_code == 200
            check("financesV0.json", "ListFinancialEventsResponse", r.json())
            payload = r.json()["payload"]
            filled |= {name for name, events in payload["FinancialEvents"].items() if events}
            if not payload.get("NextToken"):
                break
            params["NextToken"] = payload["NextToken"]
        groups = client.get(
            "/finances/v0/financialEventGroups",
            params={"FinancialEventGroupStartedAfter": (now - dt.timedelta(days=60)).isoformat()},
        )
        bad = client.get("/finances/v0/financialEventGroups", params={"MaxResultsPerPage": 101})
    assert {
        "ShipmentEventList",
        "RefundEventList",
        "ServiceFeeEventList",
        "ProductAdsPaymentEventList",
        "CouponPaymentEventList",
        "AdjustmentEventList",
    } <= filled
    assert groups.status_code == 200
    check("financesV0.json", "ListFinancialEventGroupsResponse", groups.json())
    listed = groups.json()["payload"]["FinancialEventGroupList"]
    assert listed and {g["ProcessingStatus"] for g in listed} == {"Open", "Closed"}
    assert bad.status_code == 400
    check("financesV0.json", "ListFinancialEventGroupsResponse", bad.json())
