"""The Sales and Traffic business report: sales from the world's orders, traffic (sessions, page views) invented
around them.

Sales per date are the orders purchased that UTC day (the sandbox's days are UTC, Amazon's are the
marketplace's local days): ``orderedProductSales`` = item-price of the items not cancelled, ``unitsOrdered``
their quantity, ``totalOrderItems`` their count, so they equal ``World.order_summary`` for the same day.
Refunds count on the day they are posted, shipments on the day they ship. Sessions are at least the units
ordered and follow demand; page views exceed sessions.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from .. import marketplaces
from .catalogue import SellerProfile, catalogue
from .orders import CATALOGUE_ANCHOR, _marketplace_share, day_items, demand_multiplier
from .rng import stream

# The seller profile's record of restated days ("<marketplace>|<YYYY-MM-DD>" -> revision): Amazon restates a
# day's traffic within 72 hours; a restated day's traffic is drawn from a stream of its own (state.py).
TRAFFIC_RESTATEMENTS = "traffic_restatements"
REFUND_LOOKBACK = dt.timedelta(days=46)  # a refund follows its purchase by at most ~43 days (orders.py)
CONVERSION = 0.11


def _money(amount: Decimal, currency: str) -> dict:
    return {"amount": float(amount), "currencyCode": currency}


def _period(day: dt.date, granularity: str) -> dt.date:
    if granularity == "WEEK":  # weeks start on Sunday, as in Seller Central
        return day - dt.timedelta(days=(day.weekday() + 1) % 7)
    if granularity == "MONTH":
        return day.replace(day=1)
    return day


class _Sales:
    def __init__(self):
        self.sales = self.sales_b2b = self.shipped_sales = Decimal(0)
        self.units = self.units_b2b = self.items = self.items_b2b = 0
        self.refunded = self.units_shipped = 0
        self.orders_shipped: set[str] = set()
        self.sessions = self.sessions_b2b = self.views = self.views_b2b = self.mobile = 0
        self.buy_box_weight = 0.0
        self.offer_days = self.days = 0  # SKUs on sale summed over the period's days, and those days

    def sales_json(self, currency: str, by_date: bool, shipments_by_asin: bool = False) -> dict:
        """Sales as the report writes them; `shipments_by_asin` adds the shipped and refunded figures that
        Data Kiosk's ByAsinSales has and the report's salesByAsin lacks."""
        out = {
            "orderedProductSales": _money(self.sales, currency),
            "orderedProductSalesB2B": _money(self.sales_b2b, currency),
            "unitsOrdered": self.units,
            "unitsOrderedB2B": self.units_b2b,
            "totalOrderItems": self.items,
            "totalOrderItemsB2B": self.items_b2b,
        }
        if by_date:
            avg = self.sales / self.items if self.items else Decimal(0)
            out.update(
                averageSalesPerOrderItem=_money(avg.quantize(Decimal("0.01")), currency),
                averageUnitsPerOrderItem=round(self.units / self.items, 2) if self.items else 0.0,
                averageSellingPrice=_money(
                    (self.sales / self.units if self.units else Decimal(0)).quantize(Decimal("0.01")), currency
                ),
                unitsRefunded=self.refunded,
                refundRate=round(100 * self.refunded / self.units, 2) if self.units else 0.0,
                claimsGranted=0,
                claimsAmount=_money(Decimal(0), currency),
                shippedProductSales=_money(self.shipped_sales, currency),
                unitsShipped=self.units_shipped,
                ordersShipped=len(self.orders_shipped),
            )
        elif shipments_by_asin:
            out.update(
                unitsRefunded=self.refunded,
                refundRate=round(100 * self.refunded / self.units, 2) if self.units else 0.0,
                shippedProductSales=_money(self.shipped_sales, currency),
                unitsShipped=self.units_shipped,
                ordersShipped=len(self.orders_shipped),
            )
        return out

    def traffic_json(self, by_date: bool, total_sessions: int = 0, total_views: int = 0) -> dict:
        browser, browser_views = self.sessions - self.mobile, self.views - round(self.views * self.mobile_share)
        out = {
            "browserSessions": browser,
            "mobileAppSessions": self.mobile,
            "sessions": self.sessions,
            "sessionsB2B": self.sessions_b2b,
            "browserPageViews": browser_views,
            "mobileAppPageViews": self.views - browser_views,
            "pageViews": self.views,
            "pageViewsB2B": self.views_b2b,
            "buyBoxPercentage": round(self.buy_box_weight / self.views, 2) if self.views else 0.0,
            "unitSessionPercentage": round(100 * self.units / self.sessions, 2) if self.sessions else 0.0,
            "unitSessionPercentageB2B": (
                round(100 * self.units_b2b / self.sessions_b2b, 2) if self.sessions_b2b else 0.0
            ),
        }
        if by_date:
            out["orderItemSessionPercentage"] = (
                round(100 * self.items / self.sessions, 2) if self.sessions else 0.0
            )
            # The products have no variations: every offer is its own parent item. Nobody leaves feedback.
            offers = round(self.offer_days / self.days) if self.days else 0
            out.update(averageOfferCount=offers, averageParentItems=offers, feedbackReceived=0,
                       negativeFeedbackReceived=0, receivedNegativeFeedbackRate=0.0)
        else:
            def share(part: int, total: int) -> float:
                return round(100 * part / total, 2) if total else 0.0

            out["sessionPercentage"] = share(self.sessions, total_sessions)
            out["pageViewsPercentage"] = share(self.views, total_views)
            # Browser and app shares of the seller's totals, split as this SKU's own visits split.
            out["browserSessionPercentage"] = share(browser, total_sessions)
            out["mobileAppSessionPercentage"] = share(self.mobile, total_sessions)
            out["browserPageViewsPercentage"] = share(browser_views, total_views)
            out["mobileAppPageViewsPercentage"] = share(self.views - browser_views, total_views)
        return out

    @property
    def mobile_share(self) -> float:
        return self.mobile / self.sessions if self.sessions else 0.0


def sales_and_traffic(
    seed: int,
    profile: SellerProfile,
    marketplace_id: str,
    start: dt.datetime,
    end: dt.datetime,
    date_granularity: str = "DAY",
    asin_granularity: str = "PARENT",
    shipments_by_asin: bool = False,
) -> dict:
    """The report document (without ``reportSpecification``) for orders purchased in [start, end).

    `shipments_by_asin` adds each SKU's shipped and refunded figures (Data Kiosk's ByAsinSales)."""
    mkt = marketplaces.get(marketplace_id)
    skus = catalogue(seed, profile)
    total_weight = sum(s.popularity for s in skus)
    share = _marketplace_share(seed, profile.seller_id, profile.marketplace_ids, marketplace_id)
    by_date: dict[dt.date, _Sales] = {}
    by_sku: dict[str, _Sales] = {}
    first_day, last_day = start.date(), (end - dt.timedelta(microseconds=1)).date()
    day = (start - REFUND_LOOKBACK).date()
    while day <= last_day:
        for it in day_items(seed, profile, marketplace_id, day):
            if start <= it.purchase_date < end and not it.cancelled:
                for bucket in (by_date.setdefault(_period(day, date_granularity), _Sales()),
                               by_sku.setdefault(it.sku.sku, _Sales())):
                    bucket.sales += it.item_price
                    bucket.units += it.quantity
                    bucket.items += 1
                    if it.is_business_order:
                        bucket.sales_b2b += it.item_price
                        bucket.units_b2b += it.quantity
                        bucket.items_b2b += 1
            if it.cancelled:
                continue
            if start <= it.settle_date < end:
                for bucket in (by_date.setdefault(_period(it.settle_date.date(), date_granularity), _Sales()),
                               by_sku.setdefault(it.sku.sku, _Sales())):
                    bucket.shipped_sales += it.item_price
                    bucket.units_shipped += it.quantity
                    bucket.orders_shipped.add(it.amazon_order_id)
            if it.refund_date and start <= it.refund_date < end:
                for bucket in (by_date.setdefault(_period(it.refund_date.date(), date_granularity), _Sales()),
                               by_sku.setdefault(it.sku.sku, _Sales())):
                    bucket.refunded += it.quantity
        day += dt.timedelta(days=1)
    # Traffic per SKU and day: demand-shaped sessions that always cover the units ordered.
    restated = profile.extra.get(TRAFFIC_RESTATEMENTS) or {}
    day = first_day
    while day <= last_day:
        base = profile.orders_per_day * demand_multiplier(day) * share / CONVERSION
        revision = int(restated.get(f"{marketplace_id}|{day.isoformat()}", 0))
        period = by_date.setdefault(_period(day, date_granularity), _Sales())
        period.days += 1
        for s in skus:
            if CATALOGUE_ANCHOR + dt.timedelta(days=s.launch_offset_days) > day:
                continue  # not on sale yet: nobody visits it
            period.offer_days += 1
            rng = stream(seed, profile.seller_id, marketplace_id, s.sku, day.isoformat(), "traffic",
                         *((f"restated {revision}",) if revision else ()))
            sessions = round(base * s.popularity / total_weight * rng.uniform(0.7, 1.3))
            views = sessions + round(sessions * rng.uniform(0.15, 0.7))
            mobile = round(sessions * rng.uniform(0.5, 0.7))
            b2b = round(sessions * rng.uniform(0.02, 0.08))
            buy_box = rng.uniform(88, 100)
            for bucket in (period, by_sku.setdefault(s.sku, _Sales())):
                bucket.sessions += sessions
                bucket.views += views
                bucket.mobile += mobile
                bucket.sessions_b2b += b2b
                bucket.views_b2b += b2b + round(b2b * 0.3)
                bucket.buy_box_weight += buy_box * views
        day += dt.timedelta(days=1)
    for bucket in list(by_date.values()) + list(by_sku.values()):  # a unit sold needs a session
        extra = max(0, bucket.units - bucket.sessions)
        bucket.sessions += extra
        bucket.mobile += extra // 2
        bucket.views += extra
        bucket.buy_box_weight += 95.0 * extra
        bucket.sessions_b2b = max(bucket.sessions_b2b, bucket.units_b2b)
        bucket.views_b2b = max(bucket.views_b2b, bucket.sessions_b2b)
    # Every SKU bucket gets the same treatment as the dates, so totals of sessions agree closely, not exactly.
    total_sessions = sum(b.sessions for b in by_sku.values())
    total_views = sum(b.views for b in by_sku.values())
    currency = mkt.currency
    dates = [
        {
            "date": period.isoformat(),
            "salesByDate": bucket.sales_json(currency, True),
            "trafficByDate": bucket.traffic_json(True),
        }
        for period, bucket in sorted(by_date.items())
        if period >= _period(first_day, date_granularity)
    ]
    asins = []
    listed = {s.sku: s for s in skus}
    for sku, bucket in sorted(by_sku.items()):
        item = listed[sku]
        row: dict = {"parentAsin": item.asin}  # the world's products have no variations: parent = child
        if asin_granularity in ("CHILD", "SKU"):
            row["childAsin"] = item.asin
        if asin_granularity == "SKU":
            row["sku"] = sku
        row["salesByAsin"] = bucket.sales_json(currency, False, shipments_by_asin)
        row["trafficByAsin"] = bucket.traffic_json(False, total_sessions, total_views)
        asins.append(row)
    return {"salesAndTrafficByDate": dates, "salesAndTrafficByAsin": asins}
