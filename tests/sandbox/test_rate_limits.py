"""Usage plans: token buckets per seller and application, Amazon's 429 body, x-amzn-RateLimit-Limit rules."""

from __future__ import annotations

import httpx
import pytest
from sp_api.base.exceptions import SellingApiRequestThrottledException

from spapi_sandbox.ratelimit import RateLimiter

from .conftest import US

QUOTA = {
    "errors": [
        {
            "code": "QuotaExceeded",
            "message": "You exceeded your quota for the requested resource.",
            "details": "",
        }
    ]
}
ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"


def test_create_report_burst_beyond_15_is_throttled_with_amazons_body(sandbox):
    seller = sandbox.new_seller([US])
    token = sandbox.access_token(seller["refresh_token"])
    body = {"reportType": ORDERS, "marketplaceIds": [US]}
    answers = []
    with httpx.Client(verify=sandbox.ssl_context, headers={"x-amz-access-token": token}) as c:
        for _ in range(20):
            answers.append(c.post(f"{sandbox.base_url}/reports/2021-06-30/reports", json=body))
    codes = [r.status_code for r in answers]
    assert codes[:15] == [202] * 15
    throttled = [r for r in answers if r.status_code == 429]
    assert throttled, codes
    assert all(r.json() == QUOTA for r in throttled)
    assert all("x-amzn-ratelimit-limit" not in r.headers for r in throttled)
    assert all(r.headers["x-amzn-ratelimit-limit"] == "0.0167" for r in answers if r.status_code == 202)


def test_the_client_raises_its_throttled_exception_on_429(sandbox):
    seller = sandbox.new_seller([US])
    client = sandbox.reports(seller["refresh_token"])
    with pytest.raises(SellingApiRequestThrottledException) as err:
        for _ in range(25):
            client.create_report(reportType=ORDERS)
    assert err.value.error == QUOTA["errors"]


def test_buckets_are_per_seller(sandbox):
    first, second = sandbox.new_seller([US]), sandbox.new_seller([US])
    url = f"{sandbox.base_url}/reports/2021-06-30/reports"
    with httpx.Client(verify=sandbox.ssl_context) as c:
        t1 = {"x-amz-access-token": sandbox.access_token(first["refresh_token"])}
        for _ in range(16):
            c.post(url, json={"reportType": ORDERS, "marketplaceIds": [US]}, headers=t1)
        t2 = {"x-amz-access-token": sandbox.access_token(second["refresh_token"])}
        assert c.post(url, json={"reportType": ORDERS, "marketplaceIds": [US]}, headers=t2).status_code == 202


def test_400_and_404_carry_the_rate_limit_header(sandbox):
    seller = sandbox.new_seller([US])
    headers = {"x-amz-access-token": sandbox.access_token(seller["refresh_token"])}
    with httpx.Client(verify=sandbox.ssl_context, headers=headers) as c:
        bad = c.get(
            f"{sandbox.base_url}/reports/2021-06-30/reports", params={"nextToken": "abc", "pageSize": "5"}
        )
        missing = c.get(f"{sandbox.base_url}/reports/2021-06-30/reports/123")
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "InvalidInput"
    assert bad.headers["x-amzn-ratelimit-limit"] == "0.0222"
    assert missing.status_code == 404 and missing.headers["x-amzn-ratelimit-limit"] == "2"


def test_time_scale_speeds_up_refill_keeping_rate_and_burst():
    now = [0.0]
    limiter = RateLimiter(time_scale=0.01, clock=lambda: now[0])
    assert all(limiter.try_acquire("S", "app", "getInventorySummaries") for _ in range(2))  # burst 2
    assert not limiter.try_acquire("S", "app", "getInventorySummaries")
    now[0] += 0.004  # 2/s scaled by 0.01 is 200/s: 0.004 s refills 0.8 token
    assert not limiter.try_acquire("S", "app", "getInventorySummaries")
    now[0] += 0.002
    assert limiter.try_acquire("S", "app", "getInventorySummaries")
    assert limiter.try_acquire("S", "other-app", "getInventorySummaries")  # another application's bucket
