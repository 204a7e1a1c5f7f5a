"""One marketplace-day of a seller's orders, generated from (seed, seller, marketplace, day) alone.

Demand has a weekly rhythm, a yearly season (Prime Day, Black Friday, December, a January dip) and slow
growth; prices move in steps, promotions run by ISO week, some orders are cancelled and some items are
refunded later. Each item knows its final state and, through ``status_as_of``, what a report made at an
earlier moment showed.

A day is drawn in two layers. The day's stream draws each order's skeleton: when it was bought and settled,
its SKUs and quantities, whether it was cancelled (``order_skeletons``); stock (inventory.py) needs nothing
more, and walks two years of them in about a second. Each order's own stream then draws the rest: ids, buyer,
prices, promotions, refunds (``day_items``).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from itertools import accumulate

from .. import marketplaces
from . import people
from .catalogue import SellerProfile, Sku, catalogue, promotion, unit_price
from .rng import digits, poisson, stream

UTC = dt.UTC
# SKU launch dates count from a fixed day, never from "today", so data never depends on when it is made.
CATALOGUE_ANCHOR = dt.date(2023, 6, 1)
_WEEKDAY = (1.0, 0.96, 0.94, 0.98, 0.95, 1.06, 1.14)  # Monday .. Sunday
_HOUR_WEIGHTS = (2, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 7, 7, 6, 6, 6, 7, 8, 9, 9, 8, 6, 4)
_HOUR_CUMULATIVE = tuple(accumulate(_HOUR_WEIGHTS))


@dataclass(frozen=True)
class OrderItem:
    """One order item, in its final state; amounts are line totals in the marketplace currency."""

    marketplace_id: str
    amazon_order_id: str
    order_item_id: str
    merchant_order_id: str
    purchase_date: dt.datetime
    settle_date: dt.datetime  # shipped (or cancelled) moment: when the status became final
    cancelled: bool
    fulfillment: str  # AFN / MFN
    ship_service_level: str
    sku: Sku
    product_name: str
    quantity: int  # as ordered; a cancelled item shows 0 in reports
    currency: str
    item_price: Decimal
    item_tax: Decimal
    shipping_price: Decimal
    shipping_tax: Decimal
    gift_wrap_price: Decimal
    gift_wrap_tax: Decimal
    item_promotion_discount: Decimal
    ship_promotion_discount: Decimal
    promotion_ids: str
    buyer: people.Buyer
    is_business_order: bool
    purchase_order_number: str
    price_designation: str
    refund_date: dt.datetime | None  # when the item is refunded (never for cancelled items)
    shipment_id: str
    fulfillment_center_id: str
    carrier: str
    tracking_number: str

    @property
    def sales_channel(self) -> str:
        return marketplaces.get(self.marketplace_id).sales_channel

    def status_as_of(self, as_of: dt.datetime | None) -> tuple[str, str, dt.datetime]:
        """(order-status, item-status, last-updated-date) as a report made at ``as_of`` shows them."""
        if as_of is not None and as_of < self.settle_date:
            order_status = "Pending" if self.fulfillment == "AFN" else "Unshipped"
            return order_status, "Unshipped", self.purchase_date + dt.timedelta(minutes=3)
        if self.cancelled:
            return "Cancelled", "Cancelled", self.settle_date
        return "Shipped", "Shipped", self.settle_date

    def revenue(self) -> Decimal:
        """What the item earns: principal, less item promotions, plus buyer-paid shipping and gift wrap."""
        if self.cancelled:
            return Decimal(0)
        return (
            self.item_price
            - self.item_promotion_discount
            + self.shipping_price
            - self.ship_promotion_discount
            + self.gift_wrap_price
        )


def _money(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def demand_multiplier(day: dt.date) -> float:
    """The weekly, seasonal and growth shape of demand on a day (1.0 is an ordinary spring Monday)."""
    doy = day.timetuple().tm_yday
    season = 1.0 + 0.18 * math.cos(2 * math.pi * (doy - 355) / 365.25)
    if day.month == 7 and 9 <= day.day <= 12:  # Prime Day
        season *= 2.4
    thanksgiving = max(
        dt.date(day.year, 11, d) for d in range(22, 29) if dt.date(day.year, 11, d).weekday() == 3
    )
    if (
        thanksgiving + dt.timedelta(days=1) <= day <= thanksgiving + dt.timedelta(days=4)
    ):  # Black Friday .. Cyber Monday
        season *= 2.1
    elif day.month == 12 and day.day <= 22:
        season *= 1.35
    elif day.month == 1 and day.day <= 20:
        season *= 0.8
    growth = 1.12 ** ((day - CATALOGUE_ANCHOR).days / 365.25)
    return _WEEKDAY[day.weekday()] * season * growth


@lru_cache(maxsize=64)
def _marketplace_share(
    seed: int, seller_id: str, marketplace_ids: tuple[str, ...], marketplace_id: str
) -> float:
    if marketplace_id == marketplace_ids[0]:
        return 1.0
    return stream(seed, seller_id, marketplace_id, "share").uniform(0.25, 0.6)


def day_items(seed: int, profile: SellerProfile, marketplace_id: str, day: dt.date) -> list[OrderItem]:
    """All order items purchased on ``day`` (UTC) in one marketplace, sorted by purchase time."""
    return list(_day_items(seed, profile, marketplace_id, day))


@dataclass(frozen=True)
class OrderSkeleton:
    """What stock needs of an order: when it was bought and settled, what and how many, whether cancelled.

    The day's stream draws only these; each order's other details (ids, buyer, money) come from a stream of
    the order's own, so inventory can walk two years of orders without generating their buyers."""

    purchase: dt.datetime
    settle: dt.datetime
    cancelled: bool
    fulfillment: str
    skus: tuple[Sku, ...]
    quantities: tuple[int, ...]  # as ordered, per SKU


@lru_cache(maxsize=8192)
def order_skeletons(seed: int, profile: SellerProfile, marketplace_id: str, day: dt.date) -> tuple[OrderSkeleton, ...]:
    """The day's orders in the order they were drawn (not sorted)."""
    rng = stream(seed, profile.seller_id, marketplace_id, day.isoformat(), "orders")
    skus = [
        s
        for s in catalogue(seed, profile)
        if CATALOGUE_ANCHOR + dt.timedelta(days=s.launch_offset_days) <= day
    ]
    if not skus:
        return ()
    lam = (
        profile.orders_per_day
        * demand_multiplier(day)
        * _marketplace_share(seed, profile.seller_id, profile.marketplace_ids, marketplace_id)
        * rng.uniform(0.85, 1.15)
    )
    n_orders = poisson(rng, lam)
    popularity = list(accumulate(s.popularity for s in skus))  # choices(weights=) would sum them each draw
    channels = {f: [s for s in skus if s.fulfillment == f] for f in {s.fulfillment for s in skus}}
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=UTC)
    out = []
    for _ in range(n_orders):
        hour = rng.choices(range(24), cum_weights=_HOUR_CUMULATIVE)[0]
        purchase = midnight + dt.timedelta(hours=hour, seconds=rng.randrange(3600))
        first = rng.choices(skus, cum_weights=popularity)[0]
        same_channel = channels[first.fulfillment]
        n_items = rng.choices((1, 2, 3), cum_weights=(85, 97, 100))[0]
        chosen = tuple(dict.fromkeys([first] + [rng.choice(same_channel) for _ in range(n_items - 1)]))
        cancelled = rng.random() < profile.cancel_rate
        hours_to_settle = (
            rng.uniform(0.3, 10)
            if cancelled
            else rng.uniform(3, 30)
            if first.fulfillment == "AFN"
            else rng.uniform(10, 70)
        )
        out.append(
            OrderSkeleton(
                purchase=purchase,
                settle=purchase + dt.timedelta(seconds=round(hours_to_settle * 3600)),
                cancelled=cancelled,
                fulfillment=first.fulfillment,
                skus=chosen,
                quantities=tuple(rng.choices((1, 2, 3, 4), cum_weights=(88, 97, 99, 100))[0] for _ in chosen),
            )
        )
    return tuple(out)


# Money views read the same days again (a Finances page walk, a week of coupon sales): keep recent days.
@lru_cache(maxsize=256)
def _day_items(seed: int, profile: SellerProfile, marketplace_id: str, day: dt.date) -> tuple[OrderItem, ...]:
    mkt = marketplaces.get(marketplace_id)
    items: list[OrderItem] = []
    for n, order in enumerate(order_skeletons(seed, profile, marketplace_id, day)):
        rng = stream(seed, profile.seller_id, marketplace_id, day.isoformat(), "order", n)
        items.extend(_order(seed, profile, mkt, rng, order))
    items.sort(key=lambda it: (it.purchase_date, it.amazon_order_id, it.order_item_id))
    return tuple(items)


def _order(seed, profile, mkt, rng, order: OrderSkeleton) -> list[OrderItem]:
    dec = mkt.currency_decimals
    fulfillment, purchase, settle, cancelled = order.fulfillment, order.purchase, order.settle, order.cancelled
    order_id = f"{rng.randint(111, 408)}-{digits(rng, 7)}-{digits(rng, 7)}"
    buyer = people.buyer(rng, mkt.country)
    business = rng.random() < profile.business_share
    merchant_order_id = f"RTK-{digits(rng, 8)}" if fulfillment == "MFN" and rng.random() < 0.5 else ""
    service = (
        ("Expedited" if rng.random() < 0.6 else "Standard")
        if fulfillment == "AFN"
        else rng.choices(("Standard", "Expedited", "NextDay"), weights=(80, 15, 5))[0]
    )
    po_number = f"PO-{digits(rng, 6)}" if business and rng.random() < 0.5 else ""
    shipment_id = (
        ("D" + digits(rng, 2) + "".join(rng.choice("bcdfghjklmnpqrstvwxyz") for _ in range(7)))
        if fulfillment == "AFN"
        else ""
    )
    center = rng.choice(["SEA8", "PHX6", "BFI4", "LEJ1", "MUC3", "BHX4", "CDG7", "MXP5", "MAD4", "NRT1"])
    carrier = people.carrier(rng, mkt.country)
    tracking = "1Z" + digits(rng, 16)
    out = []
    for item, quantity in zip(order.skus, order.quantities, strict=True):
        day = purchase.date()
        price = unit_price(seed, profile.seller_id, item, mkt.marketplace_id, day) * quantity
        promo = promotion(seed, profile.seller_id, item, mkt.marketplace_id, day, profile.promotion_share)
        zero = _money(Decimal(0), dec)
        discount = _money(price * promo[1], dec) if promo else zero
        tax = _tax(price, mkt, dec)
        shipping = zero
        if fulfillment == "MFN" and rng.random() < 0.5:
            shipping = _money(Decimal("4.99") * mkt.fx_from_usd, dec)
        ship_discount = shipping if shipping and rng.random() < 0.2 else zero
        gift = _money(Decimal("3.99") * mkt.fx_from_usd, dec) if rng.random() < 0.02 else zero
        promo_ids = promo[0] if promo else ""
        refund = None
        if not cancelled and rng.random() < profile.refund_rate:
            refund = settle + dt.timedelta(days=rng.randint(3, 40), seconds=rng.randrange(86400))
        out.append(
            OrderItem(
                marketplace_id=mkt.marketplace_id,
                amazon_order_id=order_id,
                order_item_id=digits(rng, 14),
                merchant_order_id=merchant_order_id,
                purchase_date=purchase,
                settle_date=settle,
                cancelled=cancelled,
                fulfillment=fulfillment,
                ship_service_level=service,
                sku=item,
                product_name=item.local_name(mkt.marketplace_id),
                quantity=quantity,
                currency=mkt.currency,
                item_price=price,
                item_tax=tax,
                shipping_price=shipping,
                shipping_tax=_tax(shipping, mkt, dec),
                gift_wrap_price=gift,
                gift_wrap_tax=_tax(gift, mkt, dec),
                item_promotion_discount=discount,
                ship_promotion_discount=ship_discount,
                promotion_ids=promo_ids,
                buyer=buyer,
                is_business_order=business,
                purchase_order_number=po_number,
                price_designation="BusinessPrice" if business and rng.random() < 0.4 else "",
                refund_date=refund,
                shipment_id=shipment_id,
                fulfillment_center_id=center if fulfillment == "AFN" else "",
                carrier=carrier,
                tracking_number=tracking,
            )
        )
    return out


def _tax(amount: Decimal, mkt: marketplaces.Marketplace, dec: int) -> Decimal:
    if not amount:
        return _money(Decimal(0), dec)
    if mkt.is_eu:  # EU prices include VAT; the report shows the VAT part
        return _money(amount * mkt.tax_rate / (1 + mkt.tax_rate), dec)
    return _money(amount * mkt.tax_rate, dec)
