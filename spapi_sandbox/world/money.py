"""Account-level money of the world: what Amazon charges and pays a seller that is not one order item's.

Storage and the aged-inventory surcharge (per FNSKU, early the next month), the selling plan subscription,
advertising invoices, inbound placement, coupon and deal fees, removal and disposal orders, warehouse
reimbursements and their clawbacks, and the account-level reserve carried from one settlement to the next.
Each marketplace-day's postings come from (seed, seller, marketplace, day) alone and cost a few random draws
(coupon and deal fees also read one week of that marketplace's orders), so any day can be made on its own.

``COMPONENTS`` is the one home of how each kind of money is named in the three views (2024-06-19 breakdown,
v0 fee type, settlement labels); ``KINDS`` of the transaction each posting is. docs/sandbox.md "Money world"
describes the same contract for readers.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from .. import marketplaces
from . import inventory as _inventory
from .catalogue import SellerProfile, Sku, catalogue, promotion
from .finances import MoneyRules, fee_vat, fee_vat_applies, settlement_at, settlement_number
from .orders import CATALOGUE_ANCHOR, _marketplace_share, day_items, demand_multiplier
from .rng import alnum, digits, poisson, stream

UTC = dt.UTC
DAY = dt.timedelta(days=1)
CUBIC_FOOT_CM3 = Decimal("28316.8466")
STORAGE_RATE_USD = Decimal("0.78")  # per cubic foot and month, January to September
PEAK_STORAGE_RATE_USD = Decimal("2.40")  # October to December
AGED_SURCHARGE_RATE_USD = Decimal("1.50")
SUBSCRIPTION = {
    "USD": Decimal("39.99"),
    "CAD": Decimal("29.99"),
    "MXN": Decimal("600.00"),
    "BRL": Decimal("19.00"),
    "GBP": Decimal("25.00"),
    "EUR": Decimal("39.00"),
    "JPY": Decimal("4900"),
}
ADS_THRESHOLD_USD = Decimal("500")
INBOUND_PLACEMENT_USD = Decimal("0.27")  # per unit
REMOVAL_FEE_USD = Decimal("1.04")  # per unit
DISPOSAL_FEE_USD = Decimal("0.84")
REMOVALS_PER_DAY = 1 / 42
REIMBURSEMENTS_PER_DAY = 0.1
CLAWBACK_SHARE = 0.25
# Coupon and deal fees changed on 2025-06-02: a fixed fee plus a share of sales instead of per redemption.
FEE_MODEL_2025 = dt.date(2025, 6, 2)
LEGACY_COUPON_FEE_USD = Decimal("0.60")
COUPON_FEE_USD = Decimal("5.00")
COUPON_SALES_SHARE = Decimal("0.025")
PROMO_FEE_CAP_USD = Decimal("2000")
LEGACY_DEAL_FEE_USD = Decimal("150")
DEAL_DAY_FEE_USD = Decimal("70")
DEAL_SALES_SHARE = Decimal("0.01")


@dataclass(frozen=True)
class Component:
    """How one kind of money line is named: 2024-06-19 breakdown path, v0 type, settlement labels.

    ``single`` is a settlement triple written as one VAT-inclusive row; ``split`` a (transaction-type,
    amount-type) pair written as ``Base fee`` and ``Tax on fee`` rows. Old labels use ``single`` when there is
    one, new labels ``split`` when there is one.
    """

    path: tuple[str, ...]
    v0_type: str
    single: tuple[str, str, str] | None
    split: tuple[str, str] | None = None

    def settlement_rows(self, base: Decimal, tax: Decimal, labels: str) -> list[tuple[str, str, str, Decimal]]:
        if self.split and (labels == "new" or self.single is None):
            rows = [(*self.split, "Base fee", base)]
            return rows + [(*self.split, "Tax on fee", tax)] if tax else rows
        return [(*self.single, base + tax)]


_OTHER = ("other-transaction", "other-transaction")
COMPONENTS: dict[str, Component] = {
    "FBAStorageFee": Component(
        ("AmazonFees", "FBAStorageFee"),
        "FBAStorageFee",
        (*_OTHER, "Storage Fee"),
        ("FBAFees", "FBA Inventory Storage Fee"),
    ),
    "FBALongTermStorageFee": Component(
        ("AmazonFees", "FBALongTermStorageFee"),
        "FBALongTermStorageFee",
        (*_OTHER, "StorageRenewalBilling"),
        ("FBAFees", "FBA Long Term Storage Fee"),
    ),
    "Subscription": Component(
        ("AmazonFees", "Subscription"),
        "Subscription",
        (*_OTHER, "Subscription Fee"),
        ("ServiceFee", "Subscription Fee"),
    ),
    "FBAInboundPlacementServiceFee": Component(
        ("AmazonFees", "FBAInboundPlacementServiceFee"),
        "FBAInboundPlacementServiceFee",
        (*_OTHER, "FBA Inbound Placement Service Fee"),
        ("FBAFees", "FBA Inbound Placement Service Fee"),
    ),
    "FBARemovalFee": Component(
        ("AmazonFees", "FBARemovalFee"),
        "FBARemovalFee",
        (*_OTHER, "RemovalComplete"),
        ("FBAFees", "FBA Removal Order: Return Fee"),
    ),
    "FBADisposalFee": Component(
        ("AmazonFees", "FBADisposalFee"),
        "FBADisposalFee",
        (*_OTHER, "DisposalComplete"),
        ("FBAFees", "FBA Removal Order: Disposal Fee"),
    ),
    "ProductAdsCharge": Component(
        ("Advertising", "ProductAdsCharge"),
        "charge",
        ("ServiceFee", "Cost of Advertising", "TransactionTotalAmount"),
    ),
    "CouponRedemptionFee": Component(
        ("AmazonFees", "CouponRedemptionFee"),
        "CouponRedemptionFee",
        ("CouponRedemptionFee", "CouponRedemptionFee", "CouponRedemptionFee"),
    ),
    "CouponParticipationFee": Component(
        ("AmazonFees", "CouponParticipationFee"),
        "CouponParticipationFee",
        None,
        ("AmazonFees", "Coupon Participation Fee"),
    ),
    "CouponPerformanceFee": Component(
        ("AmazonFees", "CouponPerformanceFee"),
        "CouponPerformanceFee",
        None,
        ("AmazonFees", "Coupon Performance Based Fee"),
    ),
    "RunLightningDealFee": Component(
        ("AmazonFees", "RunLightningDealFee"),
        "RunLightningDealFee",
        (*_OTHER, "Lightning Deal Fee"),
    ),
    "DealParticipationFee": Component(
        ("AmazonFees", "DealParticipationFee"),
        "DealParticipationFee",
        None,
        ("AmazonFees", "Deal Participation Fee"),
    ),
    "DealPerformanceFee": Component(
        ("AmazonFees", "DealPerformanceFee"),
        "DealPerformanceFee",
        None,
        ("AmazonFees", "Deal Performance Based Fee"),
    ),
    **{
        reason: Component(
            ("Reimbursements", reason), reason, ("other-transaction", "FBA Inventory Reimbursement", reason)
        )
        for reason in ("WAREHOUSE_DAMAGE", "WAREHOUSE_LOST", "COMPENSATED_CLAWBACK")
    },
    "CurrentReserveAmount": Component(
        ("Reserves", "CurrentReserveAmount"), "ReserveEvent", (*_OTHER, "Current Reserve Amount")
    ),
    "PreviousReserveAmountBalance": Component(
        ("Reserves", "PreviousReserveAmountBalance"), "ReserveEvent", (*_OTHER, "Previous Reserve Amount Balance")
    ),
}


@dataclass(frozen=True)
class Kind:
    """The transaction a posting is: 2024-06-19 transactionType and description, and its v0 event list."""

    transaction_type: str
    description: str
    v0_list: str


KINDS: dict[str, Kind] = {
    "storage": Kind("ServiceFee", "FBAStorageBilling", "ServiceFeeEventList"),
    "aged_surcharge": Kind("ServiceFee", "FBALongTermStorageBilling", "ServiceFeeEventList"),
    "subscription": Kind("ServiceFee", "Subscription", "ServiceFeeEventList"),
    "inbound_placement": Kind("ServiceFee", "FBAInboundPlacementServiceFee", "ServiceFeeEventList"),
    "ads": Kind("ProductAdsPayment", "Cost of Advertising", "ProductAdsPaymentEventList"),
    "coupon": Kind("CouponPayment", "Coupon Fee", "CouponPaymentEventList"),
    "deal": Kind("SellerDealPayment", "Deal Fee", "SellerDealPaymentEventList"),
    "removal": Kind("RemovalShipment", "Removal Order", "RemovalShipmentEventList"),
    "disposal": Kind("RemovalShipment", "Disposal Order", "RemovalShipmentEventList"),
    "reimbursement": Kind("Adjustment", "FBAInventoryReimbursement", "AdjustmentEventList"),
    "clawback": Kind("Adjustment", "ReimbursementClawback", "AdjustmentEventList"),
    "reserve_current": Kind("Adjustment", "CurrentReserveAmount", "AdjustmentEventList"),
    "reserve_previous": Kind("Adjustment", "PreviousReserveAmountBalance", "AdjustmentEventList"),
}


@dataclass(frozen=True)
class AccountLine:
    """One money line of a posting: a component (COMPONENTS key), its base and VAT, and the SKU it is for."""

    component: str
    base: Decimal
    tax: Decimal
    sku: Sku | None = None
    quantity: int = 0
    taxable: bool = False  # a fee under the EU fee-VAT regime: its VAT is shown even when it rounds to 0

    @property
    def amount(self) -> Decimal:
        return self.base + self.tax


@dataclass(frozen=True)
class AccountEvent:
    """One posting that is not an order item's: a KINDS key, when, where, a reference, and its lines."""

    kind: str
    posted: dt.datetime
    marketplace_id: str
    reference: str  # ads invoice, coupon, deal, inbound shipment, removal order, case or settlement id
    lines: tuple[AccountLine, ...]
    period: tuple[dt.datetime, dt.datetime] | None = None  # the month (storage) or days (ads) billed

    @property
    def currency(self) -> str:
        return marketplaces.get(self.marketplace_id).currency

    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))


def settlement_labels(seed: int, profile: SellerProfile) -> str:
    """ "old" or "new" settlement labels: the profile's ``settlement_labels``, else about half the sellers each."""
    chosen = profile.extra.get("settlement_labels")
    if chosen in ("old", "new"):
        return chosen
    return "new" if stream(seed, profile.seller_id, "settlement-labels").random() < 0.5 else "old"


def removal_item_id(removal_order_id: str, index: int) -> str:
    """The id of a removal order's line, the same in v0 (RemovalShipmentItemId) and 2024-06-19."""
    return f"{removal_order_id}-{index + 1}"


def _money(value: Decimal, mkt: marketplaces.Marketplace) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-mkt.currency_decimals), rounding=ROUND_HALF_UP)


def _at(day: dt.date, hours: float) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=UTC) + dt.timedelta(seconds=round(hours * 3600))


def _fee(component: str, usd: Decimal, mkt, posted, sku: Sku | None = None, quantity: int = 0) -> AccountLine:
    """A fee line of ``usd`` (positive, in USD) charged in the marketplace's currency, VAT where due."""
    base = -_money(usd * mkt.fx_from_usd, mkt)
    return AccountLine(component, base, fee_vat(base, mkt, posted), sku, quantity, fee_vat_applies(mkt, posted))


def _launched(item: Sku, day: dt.date) -> bool:
    return CATALOGUE_ANCHOR + dt.timedelta(days=item.launch_offset_days) <= day


@lru_cache(maxsize=256)
def _mean_order_value_usd(seed: int, profile: SellerProfile) -> Decimal:
    skus = catalogue(seed, profile)
    weight = sum(s.popularity for s in skus)
    return (
        sum((s.base_price_usd * Decimal(s.popularity) for s in skus), Decimal(0))
        / Decimal(weight)
        * Decimal(str(_inventory.UNITS_PER_ORDER))
    )


def expected_sales_usd(seed: int, profile: SellerProfile, marketplace_id: str, day: dt.date) -> Decimal:
    """The sales a day of demand should bring (USD): what ad budgets and reserves are sized from."""
    orders = (
        profile.orders_per_day
        * demand_multiplier(day)
        * _marketplace_share(seed, profile.seller_id, profile.marketplace_ids, marketplace_id)
    )
    return Decimal(str(round(orders, 4))) * _mean_order_value_usd(seed, profile)


# -- storage -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StorageCharges:
    """The storage bill of one month and marketplace, per FNSKU: what the storage-fee report shows and the
    storage (and aged-inventory surcharge) postings charge. ``posted`` is when it is charged (next month)."""

    month_start: dt.date
    posted: dt.datetime
    rate_usd: Decimal  # per cubic foot
    storage: tuple[AccountLine, ...]  # per FNSKU, quantity = average units on hand
    aged: tuple[AccountLine, ...]  # per FNSKU, quantity = aged units surcharged


def _storage_stream(rules: MoneyRules, mkt: marketplaces.Marketplace, month_start: dt.date):
    return stream(rules.seed, rules.profile.seller_id, mkt.marketplace_id, "storage", month_start.isoformat())


def storage_charge_day(rules: MoneyRules, mkt: marketplaces.Marketplace, month_start: dt.date) -> dt.date:
    """The day (2-8 of the next month) the month's storage is charged."""
    month_end = (month_start + dt.timedelta(days=32)).replace(day=1)
    return month_end.replace(day=_storage_stream(rules, mkt, month_start).randint(2, 8))


def storage_charges(rules: MoneyRules, mkt: marketplaces.Marketplace, month_start: dt.date) -> StorageCharges:
    """The month's storage per FNSKU, charged on a seller-month day 2-8 of the next month at 10:00 UTC."""
    seller = rules.profile.seller_id
    rng = _storage_stream(rules, mkt, month_start)
    month_end = (month_start + dt.timedelta(days=32)).replace(day=1)
    posted = _at(month_end.replace(day=rng.randint(2, 8)), 10)
    middle = _at(month_start + dt.timedelta(days=14), 12)
    k = _inventory.cycle_index(rules.seed, seller, mkt.marketplace_id, middle)
    rate = PEAK_STORAGE_RATE_USD if month_start.month >= 10 else STORAGE_RATE_USD
    storage, aged = [], []
    for item in _inventory.afn_skus(rules.seed, rules.profile):
        if not _launched(item, month_start):
            continue
        units = round(
            _inventory.target(rules.seed, rules.profile, mkt.marketplace_id, item, k) / 6 * rng.uniform(0.7, 1.3)
        )
        cubic_feet = item.length_cm * item.width_cm * item.height_cm / CUBIC_FOOT_CM3
        line = _fee("FBAStorageFee", units * cubic_feet * rate, mkt, posted, item, units)
        if line.base:
            storage.append(line)
        if rng.random() < 0.15:
            old_units = max(1, round(units * rng.uniform(0.1, 0.3)))
            line = _fee(
                "FBALongTermStorageFee", old_units * cubic_feet * AGED_SURCHARGE_RATE_USD, mkt, posted, item, old_units
            )
            if line.base:
                aged.append(line)
    return StorageCharges(month_start, posted, rate, tuple(storage), tuple(aged))


def storage_billed_to_account(profile: SellerProfile) -> bool:
    """Profile ``storage_billing: "account"``: the storage bill names no FNSKU (one account-level amount),
    as some accounts' bills do; the storage-fee report still has the FNSKUs. Default ``"fnsku"``."""
    return profile.extra.get("storage_billing") == "account"


def _account_level(lines: tuple[AccountLine, ...], mkt, posted) -> tuple[AccountLine, ...]:
    """The lines of a bill as one amount without a SKU (VAT on the sum, as one fee)."""
    if not lines:
        return ()
    base = sum((line.base for line in lines), Decimal(0))
    units = sum(line.quantity for line in lines)
    return (AccountLine(lines[0].component, base, fee_vat(base, mkt, posted), None, units,
                        fee_vat_applies(mkt, posted)),)


def _storage(rules: MoneyRules, mkt: marketplaces.Marketplace, day: dt.date) -> list[AccountEvent]:
    month_end = day.replace(day=1)
    month_start = (month_end - DAY).replace(day=1)
    if storage_charge_day(rules, mkt, month_start) != day:  # cheap: the day is the stream's first draw
        return []
    charges = storage_charges(rules, mkt, month_start)
    posted = charges.posted
    storage, aged = charges.storage, charges.aged
    if storage_billed_to_account(rules.profile):
        storage = _account_level(storage, mkt, posted)
        aged = _account_level(aged, mkt, posted + dt.timedelta(minutes=5))
    period = (_at(month_start, 0), _at(month_end, 0))
    reference = f"{month_start:%Y-%m}"
    out = [AccountEvent("storage", posted, mkt.marketplace_id, reference, storage, period)] if storage else []
    if aged:
        out.append(
            AccountEvent(
                "aged_surcharge", posted + dt.timedelta(minutes=5), mkt.marketplace_id, reference, aged, period
            )
        )
    return out


def _subscription(rules: MoneyRules, mkt: marketplaces.Marketplace, day: dt.date) -> list[AccountEvent]:
    """The selling plan, charged once a month in the seller's first marketplace of each region."""
    profile = rules.profile
    first = next(m for m in profile.marketplace_ids if marketplaces.get(m).region == mkt.region)
    charge_day = stream(rules.seed, profile.seller_id, "subscription-day").randint(1, 28)
    if first != mkt.marketplace_id or day.day != charge_day:
        return []
    posted = _at(day, 8)
    base = -SUBSCRIPTION[mkt.currency]
    line = AccountLine("Subscription", base, fee_vat(base, mkt, posted), taxable=fee_vat_applies(mkt, posted))
    month_end = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return [
        AccountEvent(
            "subscription", posted, mkt.marketplace_id, f"{day:%Y-%m}", (line,), (_at(day, 0), _at(month_end, 0))
        )
    ]


# -- advertising ---------------------------------------------------------------------------------------------
@lru_cache(maxsize=256)
def _ads_plan(seed: int, profile: SellerProfile, marketplace_id: str) -> tuple[float, int, int]:
    """(share of sales spent on ads, invoice interval in days, phase): invoiced on reaching the threshold."""
    rng = stream(seed, profile.seller_id, marketplace_id, "ads")
    share = rng.uniform(0.05, 0.15)
    daily = float(expected_sales_usd(seed, profile, marketplace_id, CATALOGUE_ANCHOR)) * share
    interval = min(31, max(1, math.ceil(float(ADS_THRESHOLD_USD) / daily))) if daily > 0 else 31
    return share, interval, rng.randrange(interval)


def _ads(rules: MoneyRules, mkt: marketplaces.Marketplace, day: dt.date) -> list[AccountEvent]:
    seller = rules.profile.seller_id
    share, interval, phase = _ads_plan(rules.seed, rules.profile, mkt.marketplace_id)
    if ((day - CATALOGUE_ANCHOR).days - phase) % interval:
        return []
    spend = Decimal(0)
    for back in range(interval, 0, -1):
        spent_on = day - dt.timedelta(days=back)
        noise = stream(rules.seed, seller, mkt.marketplace_id, spent_on.isoformat(), "ad-spend").uniform(0.8, 1.2)
        spend += expected_sales_usd(rules.seed, rules.profile, mkt.marketplace_id, spent_on) * Decimal(
            str(round(share * noise, 6))
        )
    rng = stream(rules.seed, seller, mkt.marketplace_id, day.isoformat(), "ads-invoice")
    posted = _at(day, rng.uniform(2, 5))
    line = _fee("ProductAdsCharge", spend, mkt, posted)
    if not line.base:
        return []
    period = (_at(day - dt.timedelta(days=interval), 0), _at(day, 0))
    return [AccountEvent("ads", posted, mkt.marketplace_id, "TR" + alnum(rng, 10), (line,), period)]


# -- inbound placement ---------------------------------------------------------------------------------------
def _inbound_placement(rules: MoneyRules, mkt: marketplaces.Marketplace, day: dt.date) -> list[AccountEvent]:
    seller = rules.profile.seller_id
    end_of_day = _at(day + DAY, 0)
    k = _inventory.cycle_index(rules.seed, seller, mkt.marketplace_id, end_of_day)
    skus = {s.sku: s for s in catalogue(rules.seed, rules.profile)}
    out = []
    for cycle in (k - 1, k):
        # A shipment starts RECEIVING 3.5-10.2 days after its cycle starts: skip the (costly) cycle otherwise.
        since = (end_of_day - _inventory.cycle_start(rules.seed, seller, mkt.marketplace_id, cycle)).days
        if not 3 <= since <= 12:
            continue
        for shipment in _inventory.cycle_shipments(rules.seed, rules.profile, mkt.marketplace_id, cycle):
            receiving = dict(shipment.timeline).get("RECEIVING")
            if receiving is None or receiving.date() != day:
                continue
            lines = tuple(
                _fee(
                    "FBAInboundPlacementServiceFee",
                    INBOUND_PLACEMENT_USD * quantity,
                    mkt,
                    receiving,
                    skus[sku],
                    quantity,
                )
                for sku, quantity, _first in shipment.items
            )
            out.append(AccountEvent("inbound_placement", receiving, mkt.marketplace_id, shipment.shipment_id, lines))
    return out


# -- coupons and deals ---------------------------------------------------------------------------------------
def _sku_sales(rules: MoneyRules, marketplace_id: str, days: list[dt.date], sku: str) -> Decimal:
    """What one SKU sold (item price less promotions) on the given days: a deal's sales."""
    return sum(
        (
            it.item_price - it.item_promotion_discount
            for d in days
            for it in day_items(rules.seed, rules.profile, marketplace_id, d)
            if not it.cancelled and it.sku.sku == sku
        ),
        Decimal(0),
    )


def _coupons(rules: MoneyRules, mkt: marketplaces.Marketplace, day: dt.date) -> list[AccountEvent]:
    """Coupon fees of last ISO week's coupons, posted on Monday."""
    if day.weekday() != 0:
        return []
    profile, week_start = rules.profile, day - dt.timedelta(days=7)
    running = []
    for item in catalogue(rules.seed, profile):
        if _launched(item, week_start):
            promo = promotion(
                rules.seed, profile.seller_id, item, mkt.marketplace_id, week_start, profile.promotion_share
            )
            if promo:
                running.append((item, promo[0]))
    if not running:
        return []
    week = [week_start + dt.timedelta(days=i) for i in range(7)]
    by_coupon: dict[str, tuple[int, Decimal]] = {}
    for d in week:
        for it in day_items(rules.seed, profile, mkt.marketplace_id, d):
            if not it.cancelled and it.promotion_ids:
                units, sales = by_coupon.get(it.promotion_ids, (0, Decimal(0)))
                by_coupon[it.promotion_ids] = (units + it.quantity, sales + it.item_price - it.item_promotion_discount)
    out = []
    for index, (item, coupon_id) in enumerate(running):
        units, sales = by_coupon.get(coupon_id, (0, Decimal(0)))
        posted = _at(day, 6) + dt.timedelta(minutes=index)
        if week_start < FEE_MODEL_2025:
            if not units:
                continue
            lines = (_fee("CouponRedemptionFee", LEGACY_COUPON_FEE_USD * units, mkt, posted, item, units),)
        else:
            cap = PROMO_FEE_CAP_USD * mkt.fx_from_usd
            performance = (sales * COUPON_SALES_SHARE).min(cap) / mkt.fx_from_usd
            lines = (
                _fee("CouponParticipationFee", COUPON_FEE_USD, mkt, posted, item, units),
                _fee("CouponPerformanceFee", performance, mkt, posted, item, units),
            )
        out.append(
            AccountEvent("coupon", posted, mkt.marketplace_id, coupon_id, lines, (_at(week_start, 0), _at(day, 0)))
        )
    return out


def _deals_of_month(rules: MoneyRules, mkt_id: str, year: int, month: int) -> list[tuple[Sku, dt.date, int]]:
    """(SKU, first day, days) of the deals run in a month: Prime Day, Black Friday week and a random one."""
    skus = list(catalogue(rules.seed, rules.profile)[:5])  # deals run on best sellers
    rng = stream(rules.seed, rules.profile.seller_id, mkt_id, "deals", year, month)
    deals = []
    if month == 7:
        deals.append((rng.choice(skus), dt.date(year, 7, 9), 2))
    if month == 11:
        thanksgiving = max(dt.date(year, 11, d) for d in range(22, 29) if dt.date(year, 11, d).weekday() == 3)
        deals.append((rng.choice(skus), thanksgiving + DAY, 4))
    if rng.random() < 0.5:
        deals.append((rng.choice(skus), dt.date(year, month, rng.randint(1, 20)), 1))
    return deals


def _deals(rules: MoneyRules, mkt: marketplaces.Marketplace, day: dt.date) -> list[AccountEvent]:
    out = []
    previous = day.replace(day=1) - DAY
    for year, month in {(previous.year, previous.month), (day.year, day.month)}:
        for item, first, length in _deals_of_month(rules, mkt.marketplace_id, year, month):
            if first + dt.timedelta(days=length) != day or not _launched(item, first):
                continue
            rng = stream(rules.seed, rules.profile.seller_id, mkt.marketplace_id, "deal", first.isoformat())
            posted = _at(day, rng.uniform(3, 6))
            deal_id = "DEAL-" + alnum(rng, 8)
            if first < FEE_MODEL_2025:
                lines = (_fee("RunLightningDealFee", LEGACY_DEAL_FEE_USD, mkt, posted, item),)
            else:
                days = [first + dt.timedelta(days=i) for i in range(length)]
                sales = _sku_sales(rules, mkt.marketplace_id, days, item.sku)
                cap = PROMO_FEE_CAP_USD * mkt.fx_from_usd
                lines = (
                    _fee("DealParticipationFee", DEAL_DAY_FEE_USD * length, mkt, posted, item),
                    _fee(
                        "DealPerformanceFee", (sales * DEAL_SALES_SHARE).min(cap) / mkt.fx_from_usd, mkt, posted, item
                    ),
                )
            out.append(AccountEvent("deal", posted, mkt.marketplace_id, deal_id, lines, (_at(first, 0), _at(day, 0))))
    return out


# -- removals, reimbursements, clawbacks ---------------------------------------------------------------------
def _stocked(rules: MoneyRules, day: dt.date) -> list[Sku]:
    return [s for s in _inventory.afn_skus(rules.seed, rules.profile) if _launched(s, day)]


def _removals(rules: MoneyRules, mkt: marketplaces.Marketplace, day: dt.date) -> list[AccountEvent]:
    skus = _stocked(rules, day)
    if not skus:
        return []
    rng = stream(rules.seed, rules.profile.seller_id, mkt.marketplace_id, day.isoformat(), "removals")
    out = []
    for kind, component, per_unit in (
        ("removal", "FBARemovalFee", REMOVAL_FEE_USD),
        ("disposal", "FBADisposalFee", DISPOSAL_FEE_USD),
    ):
        if rng.random() >= REMOVALS_PER_DAY:
            continue
        posted = _at(day, rng.uniform(1, 22))
        chosen = rng.sample(skus, min(len(skus), rng.randint(1, 3)))
        lines = []
        for item in chosen:
            quantity = rng.randint(2, 20)
            lines.append(_fee(component, per_unit * quantity, mkt, posted, item, quantity))
        out.append(AccountEvent(kind, posted, mkt.marketplace_id, "RMV" + digits(rng, 10), tuple(lines)))
    return out


def _reimbursements_of(
    rules: MoneyRules, mkt: marketplaces.Marketplace, day: dt.date
) -> list[tuple[AccountEvent, dt.datetime | None]]:
    """The day's reimbursements, each with the moment it is clawed back (or None)."""
    skus = _stocked(rules, day)
    rng = stream(rules.seed, rules.profile.seller_id, mkt.marketplace_id, day.isoformat(), "reimbursements")
    out = []
    for _ in range(poisson(rng, REIMBURSEMENTS_PER_DAY) if skus else 0):
        item = rng.choice(skus)
        quantity = rng.choices((1, 2, 3), weights=(75, 18, 7))[0]
        reason = rng.choice(("WAREHOUSE_DAMAGE", "WAREHOUSE_LOST"))
        per_unit = _money(item.list_price(mkt.marketplace_id) * Decimal(str(round(rng.uniform(0.55, 0.7), 3))), mkt)
        posted = _at(day, rng.uniform(0, 24))
        case = digits(rng, 10)
        line = AccountLine(reason, per_unit * quantity, _money(Decimal(0), mkt), item, quantity)
        clawback = None
        if reason == "WAREHOUSE_LOST" and rng.random() < CLAWBACK_SHARE:
            clawback = posted + dt.timedelta(days=rng.randint(10, 40), seconds=rng.randrange(3600))
        out.append((AccountEvent("reimbursement", posted, mkt.marketplace_id, case, (line,)), clawback))
    return out


def _reimbursements(rules: MoneyRules, mkt: marketplaces.Marketplace, day: dt.date) -> list[AccountEvent]:
    out = [event for event, _ in _reimbursements_of(rules, mkt, day)]
    for back in range(10, 42):
        for event, clawback in _reimbursements_of(rules, mkt, day - dt.timedelta(days=back)):
            if clawback is not None and clawback.date() == day:
                line = event.lines[0]
                reclaimed = AccountLine("COMPENSATED_CLAWBACK", -line.base, -line.tax, line.sku, line.quantity)
                out.append(AccountEvent("clawback", clawback, mkt.marketplace_id, event.reference, (reclaimed,)))
    return out


# -- reserves ------------------------------------------------------------------------------------------------
def reserve_amount(rules: MoneyRules, marketplace_id: str, k: int) -> Decimal:
    """The account-level reserve held at the end of settlement period k: 1.5-3 days of expected sales."""
    mkt = marketplaces.get(marketplace_id)
    period = settlement_number(rules.seed, rules.profile.seller_id, marketplace_id, k)
    days = stream(rules.seed, rules.profile.seller_id, marketplace_id, "reserve", k).uniform(1.5, 3.0)
    usd = expected_sales_usd(rules.seed, rules.profile, marketplace_id, period.end.date()) * Decimal(
        str(round(days, 4))
    )
    return _money(usd * mkt.fx_from_usd, mkt)


def _reserves(rules: MoneyRules, mkt: marketplaces.Marketplace, day: dt.date) -> list[AccountEvent]:
    seller, out = rules.profile.seller_id, []
    midnight = _at(day, 0)
    current = settlement_at(rules.seed, seller, mkt.marketplace_id, midnight)
    zero = _money(Decimal(0), mkt)
    if current.start == midnight:
        amount = reserve_amount(rules, mkt.marketplace_id, current.index - 1)
        line = AccountLine("PreviousReserveAmountBalance", amount, zero)
        out.append(AccountEvent("reserve_previous", midnight, mkt.marketplace_id, current.settlement_id, (line,)))
    if current.end == midnight + DAY:
        amount = reserve_amount(rules, mkt.marketplace_id, current.index)
        line = AccountLine("CurrentReserveAmount", -amount, zero)
        posted = current.end - dt.timedelta(seconds=1)
        out.append(AccountEvent("reserve_current", posted, mkt.marketplace_id, current.settlement_id, (line,)))
    return out


_MAKERS = (_reserves, _subscription, _storage, _ads, _inbound_placement, _coupons, _deals, _removals, _reimbursements)


def account_events(rules: MoneyRules, marketplace_id: str, day: dt.date) -> list[AccountEvent]:
    """Every account-level posting of one marketplace on one UTC day, in posting order."""
    mkt = marketplaces.get(marketplace_id)
    events = [ev for make in _MAKERS for ev in make(rules, mkt, day)]
    events.sort(key=lambda ev: (ev.posted, ev.kind, ev.reference))
    return events
