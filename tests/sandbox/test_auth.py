"""Login with Amazon and access tokens: Amazon's exact errors for revoked sellers, bad apps and bad tokens."""

from __future__ import annotations

import httpx
import pytest
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base.exceptions import SellingApiForbiddenException

from .conftest import CLIENT_ID, CLIENT_SECRET, US

ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
UNAUTHORIZED = {
    "errors": [
        {
            "code": "Unauthorized",
            "message": "Access to requested resource is denied.",
            "details": "The access token you provided is revoked, malformed or invalid.",
        }
    ]
}
INVALID_GRANT = {
    "error": "invalid_grant",
    "error_description": "The request has an invalid grant parameter : refresh_token. User may "
    "have revoked or didn't grant the permission.",
}


def _token(sandbox, **form):
    data = {"grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **form}
    return httpx.post(f"{sandbox.base_url}/auth/o2/token", data=data, verify=sandbox.ssl_context)


def test_refresh_token_grant_answers_like_amazon(sandbox):
    seller = sandbox.new_seller()
    r = _token(sandbox, refresh_token=seller["refresh_token"])
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["access_token"].startswith("Atza|") and body["refresh_token"] == seller["refresh_token"]


def test_revoked_seller_gets_invalid_grant_through_the_client(sandbox):
    seller = sandbox.new_seller()
    with sandbox.admin() as admin:
        assert admin.post(f"/_sandbox/sellers/{seller['seller_id']}/revoke").json()["revoked"] is True
    with pytest.raises(AuthorizationError) as err:
        sandbox.reports(seller["refresh_token"]).get_reports(reportTypes=[ORDERS])
    assert err.value.error_code == "invalid_grant" and err.value.status_code == 400
    assert _token(sandbox, refresh_token=seller["refresh_token"]).json() == INVALID_GRANT


def test_unknown_refresh_token_is_invalid_grant(sandbox):
    r = _token(sandbox, refresh_token="Atzr|never-granted")
    assert r.status_code == 400 and r.json() == INVALID_GRANT


def test_wrong_client_secret_is_invalid_client_401(sandbox):
    seller = sandbox.new_seller()
    with pytest.raises(AuthorizationError) as err:
        sandbox.reports(seller["refresh_token"], client_secret="wrong").get_reports(reportTypes=[ORDERS])
    assert err.value.error_code == "invalid_client" and err.value.status_code == 401


def test_revocation_kills_issued_access_tokens_with_amazons_403_body(sandbox):
    seller = sandbox.new_seller()
    token = sandbox.access_token(seller["refresh_token"])
    url = f"{sandbox.base_url}/reports/2021-06-30/reports?reportTypes={ORDERS}"
    assert (
        httpx.get(url, headers={"x-amz-access-token": token}, verify=sandbox.ssl_context).status_code == 200
    )
    with sandbox.admin() as admin:
        admin.post(f"/_sandbox/sellers/{seller['seller_id']}/revoke")
    r = httpx.get(url, headers={"x-amz-access-token": token}, verify=sandbox.ssl_context)
    assert r.status_code == 403 and r.json() == UNAUTHORIZED


def test_cached_access_token_of_a_revoked_seller_raises_forbidden_in_the_client(sandbox):
    seller = sandbox.new_seller()
    client = sandbox.reports(seller["refresh_token"])
    client.get_reports(reportTypes=[ORDERS])  # the client now caches an access token
    with sandbox.admin() as admin:
        admin.post(f"/_sandbox/sellers/{seller['seller_id']}/revoke")
    with pytest.raises(SellingApiForbiddenException) as err:
        client.get_reports(reportTypes=[ORDERS])
    assert err.value.error == UNAUTHORIZED["errors"]


@pytest.mark.parametrize("token", [None, "garbage", "Atza|eyJzIjoiQSJ9.forged"])
def test_missing_or_forged_access_token_is_403_unauthorized(sandbox, token):
    headers = {"x-amz-access-token": token} if token else {}
    r = httpx.get(
        f"{sandbox.base_url}/reports/2021-06-30/reports?reportTypes={ORDERS}",
        headers=headers,
        verify=sandbox.ssl_context,
    )
    assert r.status_code == 403 and r.json() == UNAUTHORIZED


def test_reauthorized_seller_gets_a_new_refresh_token_and_the_old_one_stays_dead(sandbox):
    seller = sandbox.new_seller()
    with sandbox.admin() as admin:
        admin.post(f"/_sandbox/sellers/{seller['seller_id']}/revoke")
        again = admin.post(f"/_sandbox/sellers/{seller['seller_id']}/reauthorize").json()
    assert again["refresh_token"] != seller["refresh_token"] and again["revoked"] is False
    assert _token(sandbox, refresh_token=again["refresh_token"]).status_code == 200
    assert _token(sandbox, refresh_token=seller["refresh_token"]).status_code == 400


def test_access_token_for_an_unknown_operation_path_is_not_a_server_error(sandbox):
    seller = sandbox.new_seller([US])
    token = sandbox.access_token(seller["refresh_token"])
    r = httpx.get(
        f"{sandbox.base_url}/nothing/here", headers={"x-amz-access-token": token}, verify=sandbox.ssl_context
    )
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "NotFound"
