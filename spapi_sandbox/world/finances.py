"""Money events of the world's order items: what Amazon charges and pays per item, for every money view.

Each shipped item yields a shipment event when it ships (charges, promotions, fees); each refunded item a
refund event later. Fees are negative, as Amazon posts them: Commission (15 % of what the buyer paid) on every
item and FBAPerUnitFulfillmentFee on FBA items; a refund gives the commission back less RefundCommission
(20 % of it, at most 5.00). With the full money world (``money_rules``) items also pay closing,
low-inventory-level and digital services fees, EU fees bear VAT, some items end in a chargeback or an
A-to-z claim, and DD+7 sellers' payments post when they mature. Finances (v0 and 2024-06-19) and the
settlement report all read these events, so they agree to the cent.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from .. import marketplaces
from .catalogue import SellerProfile
from .orders import OrderItem
from .rng import stream

COMMISSION_RATE = Decimal("0.15")
REFUND_ADMIN_SHARE = Decimal("0.20")
REFUND_ADMIN_CAP_USD = Decimal("5.00")
# Longest refund delay after shipping (orders.py: 3..40 days) plus the longest ship delay (~3 days).
MAX_EVENT_LAG = dt.timedelta(days=45)
# Amazon charges VAT on UK/EU seller fees from this day on (before: reverse charge) [spapi-money.md section 6].
FEE_VAT_FROM = dt.datetime(2024, 8, 1, tzinfo=dt.UTC)
VARIABLE_CLOSING_FEE_USD = Decimal("1.80")  # per unit, Amazon's media closing fee
MEDIA_LIKE_SHARE = 0.125  # the catalogue has no media: about one SKU in eight pays the closing fee
LOW_INVENTORY_FEE_USD = Decimal("0.89")  # per unit shipped while a SKU's stock is low
LOW_STOCK_WEEK_SHARE = 0.06
DIGITAL_SERVICES_RATES = {"GB": Decimal("0.02"), "FR": Decimal("0.03"), "IT": Decimal("0.03"), "ES": Decimal("0.03")}
CHARGEBACK_RATE = 0.002
GUARANTEE_CLAIM_RATE = 0.003
DEFERRAL_DAYS = 7  # DD+7: an order payment matures 7 days after delivery


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
    fee_taxes: tuple[tuple[str, Decimal], ...] = ()  # (FeeType, VAT part of its amount) where fees bear VAT
    shipped: dt.datetime | None = None  # a deferred (DD+7) payment: when it shipped; ``posted`` is maturity

    @property
    def currency(self) -> str:
        return self.item.currency

    def total(self) -> Decimal:
        return sum((a for _, a in self.charges + self.fees + self.promotions), Decimal(0))


@dataclass(frozen=True)
class MoneyRules:
    """What the full money world adds for one seller; ``None`` in its place is the basic world."""

    seed: int
    profile: SellerProfile

    @property
    def deferred(self) -> bool:
        return bool(self.profile.extra.get("deferred_payments", False))


def money_rules(seed: int, profile: SellerProfile) -> MoneyRules | None:
    """The seller's money rules: full unless its profile says ``{"money": "basic"}``."""
    return None if profile.extra.get("money", "full") == "basic" else MoneyRules(seed, profile)


def fee_vat_applies(mkt: marketplaces.Marketplace, posted: dt.datetime) -> bool:
    return mkt.is_eu and posted >= FEE_VAT_FROM


def fee_vat(base: Decimal, mkt: marketplaces.Marketplace, posted: dt.datetime) -> Decimal:
    """The VAT Amazon charges on a fee (or gives back on a fee refund): EU marketplaces, from 2024-08-01."""
    if not fee_vat_applies(mkt, posted):
        return _money(Decimal(0), mkt)
    return _money(base * mkt.tax_rate, mkt)


@lru_cache(maxsize=4096)
def is_media_like(seed: int, seller_id: str, sku: str) -> bool:
    return stream(seed, seller_id, sku, "media-like").random() < MEDIA_LIKE_SHARE


def low_stock_week(seed: int, seller_id: str, sku: str, marketplace_id: str, day: dt.date) -> bool:
    year, week, _ = day.isocalendar()
    return stream(seed, seller_id, sku, marketplace_id, "low-stock", year, week).random() < LOW_STOCK_WEEK_SHARE


def _base_fees(item: OrderItem, rules: MoneyRules | None) -> list[tuple[str, Decimal]]:
    mkt = marketplaces.get(item.marketplace_id)
    paid = item.item_price - item.item_promotion_discount + item.shipping_price - item.ship_promotion_discount
    fees = [("Commission", -_money(paid * COMMISSION_RATE, mkt))]
    if item.fulfillment == "AFN":
        per_unit = _money(fba_fee_per_unit_usd(item.sku.weight_kg) * mkt.fx_from_usd, mkt)
        fees.append(("FBAPerUnitFulfillmentFee", -per_unit * item.quantity))
    if rules is None:
        return fees
    seller = rules.profile.seller_id
    if is_media_like(rules.seed, seller, item.sku.sku):
        fees.append(("VariableClosingFee", -_money(VARIABLE_CLOSING_FEE_USD * mkt.fx_from_usd, mkt) * item.quantity))
    if item.fulfillment == "AFN" and low_stock_week(
        rules.seed, seller, item.sku.sku, item.marketplace_id, item.settle_date.date()
    ):
        fees.append(("LowInventoryLevelFee", -_money(LOW_INVENTORY_FEE_USD * mkt.fx_from_usd, mkt) * item.quantity))
    rate = DIGITAL_SERVICES_RATES.get(mkt.country)
    if rate:
        fees.append(("DigitalServicesFee", _money(sum((a for _, a in fees), Decimal(0)) * rate, mkt)))
    return fees


def _with_vat(
    fees: list[tuple[str, Decimal]], mkt: marketplaces.Marketplace, posted: dt.datetime
) -> tuple[tuple[tuple[str, Decimal], ...], tuple[tuple[str, Decimal], ...]]:
    """(fees VAT-inclusive, VAT part per fee) of a list of base fees."""
    taxes = [(t, fee_vat(a, mkt, posted)) for t, a in fees]
    inclusive = tuple((t, a + tax) for (t, a), (_, tax) in zip(fees, taxes, strict=True))
    return inclusive, tuple(taxes) if fee_vat_applies(mkt, posted) else ()


def item_fees(item: OrderItem, rules: MoneyRules | None = None) -> tuple[tuple[str, Decimal], ...]:
    """The item's fees as its shipment event charges them (VAT-inclusive in the EU)."""
    mkt = marketplaces.get(item.marketplace_id)
    fees = _base_fees(item, rules)
    return _with_vat(fees, mkt, item.settle_date)[0] if rules else tuple(fees)


def maturity(item: OrderItem, rules: MoneyRules) -> dt.datetime:
    """When a DD+7 payment is released: 7 days after delivery (2-5 days after shipping)."""
    # Keyed by the order: its items are delivered (and released) together.
    delivery_days = stream(rules.seed, rules.profile.seller_id, item.amazon_order_id, "delivery").randint(2, 5)
    return item.settle_date + dt.timedelta(days=delivery_days + DEFERRAL_DAYS)


def item_events(item: OrderItem, rules: MoneyRules | None = None, claims: bool = False) -> Iterator[MoneyEvent]:
    """The money events of one item, in posting order (none for a cancelled item).

    Kinds: "Order" and "Refund"; with ``claims`` also "Chargeback" and "GuaranteeClaim" (A-to-z), which only
    the full money world has and which Finances v0 lists apart from refunds.
    """
    if item.cancelled:
        return
    mkt = marketplaces.get(item.marketplace_id)
    # EU and UK prices include VAT (the orders report's item-price is VAT-inclusive, item-tax its VAT part). With
    # Amazon's VAT Calculation Service the money splits it: Principal is the net price and Tax the VAT, so the two
    # add up to what the buyer paid (docs/amazon/spapi-money.md section 6). Elsewhere tax comes on top.
    net = (lambda gross, tax: gross - tax) if mkt.is_eu else (lambda gross, tax: gross)
    charges = [("Principal", net(item.item_price, item.item_tax)), ("Tax", item.item_tax)]
    if item.shipping_price:
        charges += [("ShippingCharge", net(item.shipping_price, item.shipping_tax)), ("ShippingTax", item.shipping_tax)]
    if item.gift_wrap_price:
        charges += [("GiftWrap", net(item.gift_wrap_price, item.gift_wrap_tax)), ("GiftWrapTax", item.gift_wrap_tax)]
    promotions = []
    if item.item_promotion_discount:
        promotions.append((item.promotion_ids or "Promotion", -item.item_promotion_discount))
    if item.ship_promotion_discount:
        promotions.append(("FreeShipping", -item.ship_promotion_discount))
    base = _base_fees(item, rules)
    fees, fee_taxes = _with_vat(base, mkt, item.settle_date) if rules else (tuple(base), ())
    posted, shipped = item.settle_date, None
    if rules is not None and rules.deferred:
        posted, shipped = maturity(item, rules), item.settle_date
    yield MoneyEvent("Order", posted, item, "", tuple(charges), fees, tuple(promotions), fee_taxes, shipped)
    reversal = None
    if item.refund_date is not None:
        reversal = ("Refund", item.refund_date, "amzn1.adj." + item.order_item_id)
    elif claims and rules is not None:
        rng = stream(rules.seed, rules.profile.seller_id, item.order_item_id, "claims")
        draw = rng.random()
        if draw < CHARGEBACK_RATE + GUARANTEE_CLAIM_RATE:
            kind = "Chargeback" if draw < CHARGEBACK_RATE else "GuaranteeClaim"
            moment = item.settle_date + dt.timedelta(days=rng.randint(10, 40), seconds=rng.randrange(86400))
            reversal = (kind, moment, f"amzn1.adj.{kind[0].lower()}{item.order_item_id}")
    if reversal is None:
        return
    kind, moment, adjustment_id = reversal
    commission = next(a for t, a in base if t == "Commission")
    admin = min(_money(-commission * REFUND_ADMIN_SHARE, mkt), _money(REFUND_ADMIN_CAP_USD * mkt.fx_from_usd, mkt))
    back = [("Commission", -commission), ("RefundCommission", -admin)]
    back_fees, back_taxes = _with_vat(back, mkt, moment) if rules else (tuple(back), ())
    refund_charges = tuple((t, -a) for t, a in charges if t in ("Principal", "Tax"))
    refund_promotions = tuple((p, -a) for p, a in promotions if p != "FreeShipping")
    yield MoneyEvent(kind, moment, item, adjustment_id, refund_charges, back_fees, refund_promotions, back_taxes)


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
    index: int = 0  # the period's number in the seller's cycle; the reserve of period k is drawn from k

    @property
    def deposit_date(self) -> dt.datetime:
        return self.end + dt.timedelta(days=2)

    @property
    def published(self) -> dt.datetime:
        return self.end + SETTLEMENT_PUBLISH_DELAY

    @property
    def financial_event_group_id(self) -> str:
        """The Finances v0 FinancialEventGroupId of this settlement (43 URL-safe characters, like Amazon's)."""
        digest = hashlib.sha256(f"group|{self.seller_id}|{self.settlement_id}".encode()).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _origin(seed: int, seller_id: str) -> dt.datetime:
    phase = int(hashlib.sha256(f"{seed}|{seller_id}|phase".encode()).hexdigest(), 16) % SETTLEMENT_DAYS
    return dt.datetime.combine(SETTLEMENT_ANCHOR + dt.timedelta(days=phase), dt.time(), tzinfo=dt.UTC)


def settlement_number(seed: int, seller_id: str, marketplace_id: str, k: int) -> Settlement:
    """Settlement period k of a seller in a marketplace."""
    start = _origin(seed, seller_id) + dt.timedelta(days=k * SETTLEMENT_DAYS)
    digest = hashlib.sha256(f"{seed}|{seller_id}|{marketplace_id}|settlement|{k}".encode()).hexdigest()
    return Settlement(
        str(10_000_000_000 + int(digest, 16) % 9_000_000_000),
        seller_id,
        marketplace_id,
        start,
        start + dt.timedelta(days=SETTLEMENT_DAYS),
        k,
    )


def settlement_at(seed: int, seller_id: str, marketplace_id: str, moment: dt.datetime) -> Settlement:
    """The settlement period whose [start, end) holds ``moment``."""
    k = (moment - _origin(seed, seller_id)) // dt.timedelta(days=SETTLEMENT_DAYS)
    return settlement_number(seed, seller_id, marketplace_id, k)


def settlement_periods(
    seed: int, seller_id: str, marketplace_id: str, first: dt.datetime, last: dt.datetime
) -> Iterator[Settlement]:
    """Settlements whose period ends in [first, last), oldest first; the cycle's phase is per seller."""
    origin = _origin(seed, seller_id)
    k = max(0, (first - origin).days // SETTLEMENT_DAYS - 1)
    while True:
        s = settlement_number(seed, seller_id, marketplace_id, k)
        if s.end >= last:
            return
        if s.end >= first:
            yield s
        k += 1
