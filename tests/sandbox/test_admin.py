"""The admin API: idempotent sellers, bearer-token protection, truth, persistence across restarts."""

from __future__ import annotations

import httpx

from spapi_sandbox.world import load_world

from .conftest import DE, US, start_server


def test_admin_api_needs_the_bearer_token(sandbox):
    r = httpx.get(f"{sandbox.base_url}/_sandbox/sellers", verify=sandbox.ssl_context)
    assert r.status_code == 401
    r = httpx.get(
        f"{sandbox.base_url}/_sandbox/sellers",
        verify=sandbox.ssl_context,
        headers={"Authorization": "Bearer wrong"},
    )
    assert r.status_code == 401


def test_posting_an_existing_seller_returns_it_unchanged(sandbox):
    with sandbox.admin() as admin:
        first = admin.post("/_sandbox/sellers", json={"seller_id": "AIDEMPOTENT01", "marketplace_ids": [US]})
        second = admin.post("/_sandbox/sellers", json={"seller_id": "AIDEMPOTENT01", "marketplace_ids": [DE]})
        listed = admin.get("/_sandbox/sellers").json()["sellers"]
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["refresh_token"] == first.json()["refresh_token"]
    assert second.json()["marketplace_ids"] == [US]
    assert [s["seller_id"] for s in listed].count("AIDEMPOTENT01") == 1


def test_seller_without_id_gets_one_and_unknown_marketplace_is_refused(sandbox):
    with sandbox.admin() as admin:
        made = admin.post("/_sandbox/sellers", json={"marketplace_ids": [US], "profile": {"skus": 5}})
        bad = admin.post("/_sandbox/sellers", json={"marketplace_ids": ["NOPE"]})
    assert made.status_code == 201 and made.json()["seller_id"].startswith("A")
    assert made.json()["refresh_token"].startswith("Atzr|")
    assert bad.status_code == 400


def test_truth_endpoint_equals_the_python_truth_api(sandbox):
    seller = sandbox.new_seller([US, DE], profile={"orders_per_day": 40})
    with sandbox.admin() as admin:
        truth = admin.get(
            f"/_sandbox/sellers/{seller['seller_id']}/truth/orders",
            params={"start": "2026-03-01", "end": "2026-03-08"},
        ).json()
    local = load_world(sandbox.state_dir).order_summary(seller["seller_id"], "2026-03-01", "2026-03-08")
    assert {k: truth[k] for k in local} == local
    assert set(truth["revenue"]) == {"USD", "EUR"} and truth["orders"] > 100


def test_restart_keeps_sellers_tokens_and_revocations(pki, tmp_path):
    server = start_server(pki, tmp_path)
    try:
        kept, revoked = server.new_seller([US]), server.new_seller([US])
        with server.admin() as admin:
            admin.post(f"/_sandbox/sellers/{revoked['seller_id']}/revoke")
        access_token = server.access_token(kept["refresh_token"])
    finally:
        server.stop()
    server = start_server(pki, tmp_path)
    try:
        with server.admin() as admin:
            sellers = {s["seller_id"]: s for s in admin.get("/_sandbox/sellers").json()["sellers"]}
        assert sellers[kept["seller_id"]]["refresh_token"] == kept["refresh_token"]
        assert sellers[revoked["seller_id"]]["revoked"] is True
        server.access_token(kept["refresh_token"])  # asserts 200
        r = httpx.post(
            f"{server.base_url}/auth/o2/token",
            verify=server.ssl_context,
            data={
                "grant_type": "refresh_token",
                "refresh_token": revoked["refresh_token"],
                "client_id": "amzn1.application-oa2-client.sandboxtest",
                "client_secret": "sandbox-test-secret",
            },
        )
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
        api = httpx.get(
            f"{server.base_url}/reports/2021-06-30/reports",
            params={"reportTypes": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"},
            headers={"x-amz-access-token": access_token},
            verify=server.ssl_context,
        )
        assert api.status_code == 200, "an access token issued before the restart should still work"
    finally:
        server.stop()


def test_a_state_dir_refuses_another_seed(pki, tmp_path):
    import subprocess
    import sys

    start_server(pki, tmp_path, seed=1).stop()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "spapi_sandbox",
            "serve",
            "--certfile",
            str(pki["cert"]),
            "--keyfile",
            str(pki["key"]),
            "--state-dir",
            str(tmp_path),
            "--app-credentials-file",
            str(pki["app"]),
            "--seed",
            "2",
            "--port",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "--seed 1" in done.stderr


def test_money_truth_endpoint_matches_the_published_settlement_totals(sandbox):
    seller = sandbox.new_seller([US], profile={"orders_per_day": 8, "skus": 12})
    reports = sandbox.reports(seller["refresh_token"])
    listed = reports.get_reports(reportTypes=["GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"]).payload["reports"]
    report = listed[0]
    document = reports.get_report_document(report["reportDocumentId"], download=True).payload["document"]
    summary = dict(zip(*[line.split("\t") for line in document.splitlines()[:2]], strict=True))
    start, end = report["dataStartTime"][:10], report["dataEndTime"][:10]
    with sandbox.admin() as admin:
        truth = admin.get(f"/_sandbox/sellers/{seller['seller_id']}/truth/money", params={"start": start, "end": end})
        too_long = admin.get(
            f"/_sandbox/sellers/{seller['seller_id']}/truth/money", params={"start": "2026-01-01", "end": "2026-06-01"}
        )
    assert truth.status_code == 200 and too_long.status_code == 400
    body = truth.json()
    assert body["by_currency"]["USD"]["total"] == summary["total-amount"]
    (settlement,) = [s for s in body["settlements"] if s["settlement_id"] == summary["settlement-id"]]
    assert settlement["total"] == summary["total-amount"]
    categories = body["by_currency"]["USD"]["categories"]
    assert categories["reserve_current"].startswith("-") and not categories["reserve_previous"].startswith("-")
