"""The world generator: each day made alone from its key, realistic shape, and a truth API that adds up."""

from __future__ import annotations

import datetime as dt
import statistics
from decimal import Decimal

from spapi_sandbox.world import SellerProfile, World
from spapi_sandbox.world.orders import day_items

US, DE, BR, JP = "ATVPDKIKX0DER", "A1PA6795UKMFR9", "A2Q3Y263D00KWC", "A1VC38T7YXB528"
NOW = dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC)
PROFILE = SellerProfile.from_dict("A1WORLDTEST", [US, DE, BR, JP], {"orders_per_day": 30})


def test_a_day_made_alone_equals_the_same_day_inside_a_range():
    world = World(7, [PROFILE], now=NOW)
    in_range = [
        it
        for it in world.items(PROFILE.seller_id, "2026-05-01", "2026-05-10", [US])
        if it.purchase_date.date() == dt.date(2026, 5, 5)
    ]
    assert in_range == day_items(7, PROFILE, US, dt.date(2026, 5, 5))


def test_data_for_a_past_day_does_not_depend_on_when_it_is_made():
    earlier = World(7, [PROFILE], now=NOW - dt.timedelta(days=40))
    later = World(7, [PROFILE], now=NOW)
    assert list(earlier.order_items(PROFILE.seller_id, "2026-05-01", "2026-05-03")) == list(
        later.order_items(PROFILE.seller_id, "2026-05-01", "2026-05-03")
    )


def test_history_starts_730_days_back_and_stops_now():
    world = World(7, [PROFILE], now=NOW)
    assert not list(
        world.items(PROFILE.seller_id, NOW - dt.timedelta(days=800), NOW - dt.timedelta(days=731))
    )
    assert list(world.items(PROFILE.seller_id, NOW - dt.timedelta(days=729), NOW - dt.timedelta(days=728)))
    assert all(
        it.purchase_date < NOW for it in world.items(PROFILE.seller_id, NOW.date(), NOW + dt.timedelta(1))
    )


def test_weekends_and_black_friday_sell_more():
    world = World(7, [PROFILE], now=NOW)
    per_day: dict[dt.date, int] = {}
    for it in world.items(PROFILE.seller_id, "2026-02-02", "2026-05-04", [US]):
        per_day[it.purchase_date.date()] = per_day.get(it.purchase_date.date(), 0) + 1
    sundays = statistics.mean(n for d, n in per_day.items() if d.weekday() == 6)
    wednesdays = statistics.mean(n for d, n in per_day.items() if d.weekday() == 2)
    assert sundays > wednesdays
    black_friday = sum(1 for _ in world.items(PROFILE.seller_id, "2025-11-28", "2025-11-29", [US]))
    ordinary_friday = sum(1 for _ in world.items(PROFILE.seller_id, "2025-10-17", "2025-10-18", [US]))
    assert black_friday > 1.5 * ordinary_friday


def test_orders_carry_currencies_channels_promotions_cancellations_and_refunds():
    world = World(7, [PROFILE], now=NOW)
    items = list(world.items(PROFILE.seller_id, "2026-03-01", "2026-04-01"))
    assert {it.currency for it in items} == {"USD", "EUR", "BRL", "JPY"}
    assert {it.fulfillment for it in items} == {"AFN", "MFN"}
    assert any(it.item_promotion_discount > 0 and it.promotion_ids for it in items)
    assert any(it.cancelled for it in items) and any(it.refund_date for it in items)
    assert all(it.item_price == it.item_price.quantize(Decimal(1)) for it in items if it.currency == "JPY")
    prices = {it.item_price / it.quantity for it in items if it.sku == items[0].sku and it.currency == "USD"}
    assert len(prices) > 1, "a SKU's price should move over a month"


def test_summary_adds_up_the_rows():
    world = World(7, [PROFILE], now=NOW)
    rows = list(world.order_items(PROFILE.seller_id, "2026-03-01", "2026-03-08", [US]))
    summary = world.order_summary(PROFILE.seller_id, "2026-03-01", "2026-03-08", [US])
    assert summary["order_items"] == len(rows)
    assert summary["orders"] == len({r["amazon-order-id"] for r in rows})
    live = [r for r in rows if r["item-status"] != "Cancelled"]
    assert summary["units"] == sum(r["quantity"] for r in live)
    assert Decimal(summary["item_price"]["USD"]) == sum(r["item-price"] for r in live)
    revenue = sum(
        r["item-price"]
        - r["item-promotion-discount"]
        + r["shipping-price"]
        - r["ship-promotion-discount"]
        + r["gift-wrap-price"]
        for r in live
    )
    assert Decimal(summary["revenue"]["USD"]) == revenue


def test_a_report_made_soon_after_purchase_shows_the_order_still_pending():
    world = World(7, [PROFILE], now=NOW)
    item = next(iter(world.items(PROFILE.seller_id, "2026-03-01", "2026-03-02", [US])))
    early = item.purchase_date + dt.timedelta(minutes=5)
    assert item.status_as_of(early)[0] in ("Pending", "Unshipped")
    assert item.status_as_of(None)[0] in ("Shipped", "Cancelled")
