"""FBA Inventory v1 and Fulfillment Inbound v0 through the real python-amazon-sp-api client, against the models
and the world's truth: stock falls with AFN sales, rises with receipts, inbound quantities match shipments."""

from __future__ import annotations

import datetime as dt
import time

import httpx
import pytest
from sp_api.api import FulfillmentInbound, Inventories
from sp_api.base import SellingApiBadRequestException

from spapi_sandbox.world import SellerProfile, World, load_world, people
from spapi_sandbox.world.orders import day_items

from .conftest import DE, US
from .test_models import check

NOW = dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def seller(sandbox):
    return sandbox.new_seller([US, DE], {"skus": 130, "afn_share": 0.8})


def test_inventory_summaries_page_by_50_validate_and_equal_the_truth(sandbox, seller):
    client = sandbox.client(Inventories, seller["refresh_token"], US)
    first = client.get_inventory_summary_marketplace(details=True, marketplaceIds=[US])
    check("fbaInventory.json", "GetInventorySummariesResult", first.payload)
    assert len(first.payload["inventorySummaries"]) == 50 and first.next_token
    summaries = list(first.payload["inventorySummaries"])
    token = first.next_token
    while token:
        page = client.get_inventory_summary_marketplace(details=True, marketplaceIds=[US], nextToken=token)
        summaries += page.payload["inventorySummaries"]
        token = page.next_token
        time.sleep(0.02)  # 2 requests/s with burst 2, scaled
    world = load_world(sandbox.state_dir)
    as_of = dt.datetime.fromisoformat(max(s["lastUpdatedTime"] for s in summaries).replace("Z", "+00:00"))
    truth = world.inventory(seller["seller_id"], US, dt.datetime.now(dt.UTC))
    assert [s["sellerSku"] for s in summaries] == [p.sku.sku for p in truth]
    assert as_of <= dt.datetime.now(dt.UTC)
    for s in summaries:
        d = s["inventoryDetails"]
        warehouse = (
            d["fulfillableQuantity"]
            + d["reservedQuantity"]["totalReservedQuantity"]
            + d["unfulfillableQuantity"]["totalUnfulfillableQuantity"]
            + d["researchingQuantity"]["totalResearchingQuantity"]
        )
        inbound = d["inboundWorkingQuantity"] + d["inboundShippedQuantity"] + d["inboundReceivingQuantity"]
        assert s["totalQuantity"] == warehouse + inbound


def test_inventory_next_token_expires_after_30_scaled_seconds(sandbox, seller):
    client = sandbox.client(Inventories, seller["refresh_token"], US)
    first = client.get_inventory_summary_marketplace(marketplaceIds=[US])
    assert "inventoryDetails" not in first.payload["inventorySummaries"][0]
    time.sleep(30 * 0.01 + 0.2)
    with pytest.raises(SellingApiBadRequestException) as err:
        client.get_inventory_summary_marketplace(marketplaceIds=[US], nextToken=first.next_token)
    assert err.value.error[0]["message"] == "Next token is invalid or expired"


def test_inventory_rejects_two_marketplaces_and_an_old_start(sandbox, seller):
    token = sandbox.access_token(seller["refresh_token"])
    headers = {"x-amz-access-token": token}
    with httpx.Client(base_url=sandbox.base_url, verify=sandbox.ssl_context, headers=headers) as c:
        both = c.get(
            "/fba/inventory/v1/summaries",
            params={"granularityType": "Marketplace", "granularityId": US, "marketplaceIds": f"{US},{DE}"},
        )
        assert both.status_code == 400
        check("fbaInventory.json", "GetInventorySummariesResponse", both.json())
        time.sleep(0.02)
        old = c.get(
            "/fba/inventory/v1/summaries",
            params={
                "granularityType": "Marketplace",
                "granularityId": US,
                "marketplaceIds": US,
                "startDateTime": "2020-01-01T00:00:00Z",
            },
        )
        assert old.status_code == 400


def test_start_date_time_selects_summaries_changed_since(sandbox, seller):
    client = sandbox.client(Inventories, seller["refresh_token"], DE)
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=6)).isoformat()
    changed = client.get_inventory_summary_marketplace(marketplaceIds=[DE], startDateTime=since)
    rows = changed.payload["inventorySummaries"]
    assert rows and all(r["lastUpdatedTime"] >= since[:19] for r in rows)


def test_inbound_shipments_by_status_date_range_and_next_token(sandbox, seller):
    client = sandbox.client(FulfillmentInbound, seller["refresh_token"], US)
    closed = client.get_shipments(QueryType="SHIPMENT", ShipmentStatusList=["CLOSED", "DELETED"], MarketplaceId=US)
    check("fulfillmentInboundV0.json", "GetShipmentsResult", closed.payload)
    shipments = list(closed.payload["ShipmentData"])
    token = closed.payload.get("NextToken")
    while token:
        page = client.get_shipments(QueryType="NEXT_TOKEN", NextToken=token, MarketplaceId=US)
        check("fulfillmentInboundV0.json", "GetShipmentsResult", page.payload)
        shipments += page.payload["ShipmentData"]
        token = page.payload.get("NextToken")
    assert len(shipments) > 20  # two years of replenishment cycles: more than one page
    assert {s["ShipmentStatus"] for s in shipments} <= {"CLOSED", "DELETED"}
    world = load_world(sandbox.state_dir)
    truth = {
        sh.shipment_id
        for sh in world.inbound_shipments(seller["seller_id"], US)
        if sh.status_as_of(dt.datetime.now(dt.UTC))[0] in ("CLOSED", "DELETED")
    }
    assert {s["ShipmentId"] for s in shipments} == truth

    now = dt.datetime.now(dt.UTC)
    recent = client.get_shipments(
        QueryType="DATE_RANGE",
        LastUpdatedAfter=(now - dt.timedelta(days=60)).isoformat(),
        LastUpdatedBefore=now.isoformat(),
        MarketplaceId=US,
    )
    assert recent.payload["ShipmentData"]
    with pytest.raises(SellingApiBadRequestException):
        client.get_shipments(QueryType="DATE_RANGE", MarketplaceId=US)


def test_inventory_falls_with_afn_sales_and_rises_with_receipts():
    profile = SellerProfile.from_dict("A1INVENTORY", [US], {"skus": 30})
    world = World(5, [profile], now=NOW)
    shipments = world.inbound_shipments(profile.seller_id, US, updated_after=NOW - dt.timedelta(days=200))
    closed = [sh for sh in shipments if sh.timeline[-1][0] == "CLOSED"]
    sh = closed[-4]
    closing = sh.timeline[-1][1]
    receiving = dict(sh.timeline)["RECEIVING"]
    sku, quantity, first = sh.items[0]
    before = {p.sku.sku: p for p in world.inventory(profile.seller_id, US, receiving - dt.timedelta(seconds=1))}
    during = {p.sku.sku: p for p in world.inventory(profile.seller_id, US, receiving)}
    after = {p.sku.sku: p for p in world.inventory(profile.seller_id, US, closing)}
    sold = world.afn_units_shipped(profile.seller_id, US, receiving - dt.timedelta(seconds=1), closing)
    assert before[sku].inbound_shipped == quantity and during[sku].inbound_receiving == quantity - first
    assert after[sku].warehouse == before[sku].warehouse + quantity - sold.get(sku, 0)
    # Between receipts, the warehouse loses exactly the units shipped to buyers.
    a = max(s.timeline[-1][1] for s in closed if s.cycle == sh.cycle) + dt.timedelta(hours=1)
    b = a + dt.timedelta(days=6)
    assert b < min(s.created for s in shipments if s.cycle > sh.cycle)
    stock_a = {p.sku.sku: p.warehouse for p in world.inventory(profile.seller_id, US, a)}
    stock_b = {p.sku.sku: p.warehouse for p in world.inventory(profile.seller_id, US, b)}
    sold = world.afn_units_shipped(profile.seller_id, US, a, b)
    assert sum(sold.values()) > 0
    assert all(stock_a[s] - stock_b[s] == sold.get(s, 0) for s in stock_a)


def test_two_years_of_inbound_shipments_need_no_order_details(monkeypatch):
    """Stock walks every order since the first day; it draws each order's buyer and money only when asked."""
    profile = SellerProfile.from_dict("A1INBOUNDHISTORY", [US], {"skus": 130, "afn_share": 0.8})
    world = World(5, [profile], now=NOW)

    def buyer_drawn(*_args, **_kwargs):
        raise AssertionError("a buyer was generated to count stock")

    with monkeypatch.context() as patched:
        patched.setattr(people, "buyer", buyer_drawn)
        shipments = world.inbound_shipments(profile.seller_id, US)
        start, end = NOW - dt.timedelta(days=30), NOW
        sold = world.afn_units_shipped(profile.seller_id, US, start, end)
    assert len(shipments) > 20 and sum(sold.values()) > 0
    # The same units, counted from the full orders.
    shipped: dict[str, int] = {}
    day = (start - dt.timedelta(days=3)).date()
    while day <= end.date():
        for it in day_items(5, profile, US, day):
            if it.fulfillment == "AFN" and not it.cancelled and start <= it.settle_date < end:
                shipped[it.sku.sku] = shipped.get(it.sku.sku, 0) + it.quantity
        day += dt.timedelta(days=1)
    assert sold == shipped
