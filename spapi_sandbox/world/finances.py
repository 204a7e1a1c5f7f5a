"""Money events of the world: what Amazon charges and pays per order item, shared by Finances and settlements.

Each shipped item yields a shipment event when it ships (charges, promotions, fees); each refunded item a
refund event later. Fees are negative, as Amazon posts them: Commission (15 % of what the buyer paid) on every
item and FBAPerUnitFulfillmentFee on FBA items; a refund gives the commission back less RefundCommission
(20 % of it, at most 5.00). Finances v0 and the settlement report both read these events, so they agree to
the cent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .. import marketplaces
from .orders import OrderItem

COMMISSION_RATE = Decimal("0.15")
REFUND_ADMIN_SHARE = Decimal("0.20")
REFUND_ADMIN_CAP_USD = Decimal("5.00")
# Longest refund delay after shipping (orders.py: 3..40 days) plus the longest ship delay (~3 days).
MAX_EVENT_LAG = dt.timedelta(days=45)


def _money(value: Decimal, mkt: marketplaces.Marketplace) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-mkt.currency_decimals), rounding=ROUND_HALF_UP)


def fba_fee_per_unit_usd(weight_kg: Decimal) -> Decimal:
    """A simplified FBA fulfilment fee by unit weight (USD), in the spirit of Amazon's size tiers."""
    if weight_kg <= Decimal("0.5"):
        return Decimal("3.22")
    if weight_kg <= Decimal("1"):
        return Decimal("4.75")
    if weight_kg <= Decimal("2"):
        return Decimal("5.40")
    return Decimal("5.40") + (weight_kg - 2).quantize(Decimal(1), rounding=ROUND_HALF_UP) * Decimal("0.38")


@dataclass(frozen=True)
class MoneyEvent:
    """One posted money event of one order item: a shipment ("Order") or a refund ("Refund")."""

    kind: str  # "Order" or "Refund"
    posted: dt.datetime
    item: OrderItem
    adjustment_id: str  # "" for Order events
    charges: tuple[tuple[str, Decimal], ...]  # (ChargeType, amount): Principal, Tax, ShippingCharge, ...
    fees: tuple[tuple[str, Decimal], ...]  # (FeeType, amount), negative when the seller pays
    promotions: tuple[tuple[str, Decimal], ...]  # (promotion id, amount), negative

    @property
    def currency(self) -> str:
        return self.item.currency

    def total(self) -> Decimal:
        return sum((a for _, a in self.charges + self.fees + self.promotions), Decimal(0))


def item_fees(item: OrderItem) -> tuple[tuple[str, Decimal], ...]:
    mkt = marketplaces.get(item.marketplace_id)
    paid = item.item_price - item.item_promotion_discount + item.shipping_price - item.ship_promotion_discount
    fees = [("Commission", -_money(paid * COMMISSION_RATE, mkt))]
    if item.fulfillment == "AFN":
        per_unit = _money(fba_fee_per_unit_usd(item.sku.weight_kg) * mkt.fx_from_usd, mkt)
        fees.append(("FBAPerUnitFulfillmentFee", -per_unit * item.quantity))
    return tuple(fees)


def item_events(item: OrderItem) -> Iterator[MoneyEvent]:
    """The money events of one item, in posting order (none for a cancelled item)."""
    if item.cancelled:
        return
    mkt = marketplaces.get(item.marketplace_id)
    charges = [("Principal", item.item_price), ("Tax", item.item_tax)]
    if item.shipping_price:
        charges += [("ShippingCharge", item.shipping_price), ("ShippingTax", item.shipping_tax)]
    if item.gift_wrap_price:
        charges += [("GiftWrap", item.gift_wrap_price), ("GiftWrapTax", item.gift_wrap_tax)]
    promotions = []
    if item.item_promotion_discount:
        promotions.append((item.promotion_ids or "Promotion", -item.item_promotion_discount))
    if item.ship_promotion_discount:
        promotions.append(("FreeShipping", -item.ship_promotion_discount))
    fees = item_fees(item)
    yield MoneyEvent("Order", item.settle_date, item, "", tuple(charges), fees, tuple(promotions))
    if item.refund_date is not None:
        commission = next(a for t, a in fees if t == "Commission")
        admin = min(
            _money(-commission * REFUND_ADMIN_SHARE, mkt), _money(REFUND_ADMIN_CAP_USD * mkt.fx_from_usd, mkt)
        )
        refund_charges = tuple((t, -a) for t, a in charges if t in ("Principal", "Tax"))
        refund_promotions = tuple((p, -a) for p, a in promotions if p != "FreeShipping")
        yield MoneyEvent(
            "Refund",
            item.refund_date,
            item,
            "amzn1.adj." + item.order_item_id,
            refund_charges,
            (("Commission", -commission), ("RefundCommission", -admin)),
            refund_promotions,
        )


SETTLEMENT_DAYS = 14
SETTLEMENT_ANCHOR = dt.date(2023, 6, 1)
SETTLEMENT_PUBLISH_DELAY = dt.timedelta(hours=6)  # Amazon publishes the report a little after the period ends


@dataclass(frozen=True)
class Settlement:
    """One 14-day settlement period of one seller in one marketplace (currency)."""

    settlement_id: str
    seller_id: str
    marketplace_id: str
    start: dt.datetime
    end: dt.datetime

    @property
    def deposit_date(self) -> dt.datetime:
        return self.end + dt.timedelta(days=2)

    @property
    def published(self) -> dt.datetime:
        return self.end + SETTLEMENT_PUBLISH_DELAY


def settlement_periods(
    seed: int, seller_id: str, marketplace_id: str, first: dt.datetime, last: dt.datetime
) -> Iterator[Settlement]:
    """Settlements whose period ends in [first, last), oldest first; the cycle's phase is per seller."""
    phase = int(hashlib.sha256(f"{seed}|{seller_id}|phase".encode()).hexdigest(), 16) % SETTLEMENT_DAYS
    origin = dt.datetime.combine(SETTLEMENT_ANCHOR + dt.timedelta(days=phase), dt.time(), tzinfo=dt.UTC)
    k = max(0, (first - origin).days // SETTLEMENT_DAYS - 1)
    while True:
        start = origin + dt.timedelta(days=k * SETTLEMENT_DAYS)
        end = start + dt.timedelta(days=SETTLEMENT_DAYS)
        if end >= last:
            return
        if end >= first:
            digest = hashlib.sha256(
                f"{seed}|{seller_id}|{marketplace_id}|settlement|{k}".encode()
            ).hexdigest()
            yield Settlement(
                str(10_000_000_000 + int(digest, 16) % 9_000_000_000), seller_id, marketplace_id, start, end
            )
        k += 1
