"""The sandbox's deterministic seller world and its truth API: what a correct pipeline must end up loading.

Every marketplace-day is generated from (seed, seller_id, marketplace, day) alone, so any day can be made on
its own, streamed, and made again byte for byte. Data exists for each UTC day from ``today - 730 days`` to
now. Ranges are half-open: ``start <= purchase-date < end``; a ``date`` means its UTC midnight.

    from spapi_sandbox.world import World, load_world
    world = load_world(".data/sandbox")          # seed and sellers as the server persisted them
    rows = list(world.order_items("A1SELLER", "2026-01-01", "2026-01-08"))
    world.order_summary("A1SELLER", "2026-01-01", "2026-01-08")
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path

from ..report_columns import ALL_ORDERS
from . import fba_reports as _fba_reports
from . import inventory as _inventory
from . import listings as _listings
from .catalogue import SellerProfile, Sku, catalogue
from .finances import (
    MAX_EVENT_LAG,
    MoneyEvent,
    MoneyRules,
    Settlement,
    item_events,
    money_rules,
    settlement_at,
    settlement_periods,
)
from .inventory import InboundShipment, InventoryPosition
from .money import AccountEvent, account_events
from .orders import OrderItem, day_items
from .shipments import pii_of, shipment_row
from .traffic import sales_and_traffic as _sales_and_traffic

__all__ = [
    "World",
    "SellerProfile",
    "Sku",
    "OrderItem",
    "MoneyEvent",
    "AccountEvent",
    "Settlement",
    "InventoryPosition",
    "InboundShipment",
    "load_world",
    "HISTORY_DAYS",
    "to_utc",
]

UTC = dt.UTC
HISTORY_DAYS = 730

DateLike = dt.date | dt.datetime | str


def to_utc(value: DateLike) -> dt.datetime:
    """A UTC datetime from a date (its midnight), a naive datetime (taken as UTC) or an ISO 8601 string."""
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        value = dt.datetime.fromisoformat(text) if "T" in text or " " in text else dt.date.fromisoformat(text)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return dt.datetime.combine(value, dt.time(), tzinfo=UTC)


def _money_or_empty(value: Decimal, show: bool) -> Decimal | None:
    return value if show else None


class World:
    """The generated data of every seller under one seed, read through a truth API."""

    def __init__(
        self,
        seed: int,
        sellers: Iterable[SellerProfile] | Mapping[str, SellerProfile] = (),
        now: dt.datetime | None = None,
    ):
        self.seed = int(seed)
        values = sellers.values() if isinstance(sellers, Mapping) else sellers
        self.sellers: dict[str, SellerProfile] = {p.seller_id: p for p in values}
        self._fixed_now = now

    # -- time bounds -------------------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return self._fixed_now or dt.datetime.now(UTC)

    def first_moment(self) -> dt.datetime:
        """Midnight UTC of the world's first day, ``today - 730 days``."""
        return to_utc(self.now().date() - dt.timedelta(days=HISTORY_DAYS))

    def clamp(
        self, start: DateLike, end: DateLike, as_of: dt.datetime | None = None
    ) -> tuple[dt.datetime, dt.datetime]:
        """The part of [start, end) where data exists: not before the first day, not after ``as_of`` (now)."""
        lo = max(to_utc(start), self.first_moment())
        hi = min(to_utc(end), as_of or self.now())
        return lo, max(lo, hi)

    # -- sellers -----------------------------------------------------------------------------------------
    def profile(self, seller: str | SellerProfile) -> SellerProfile:
        if isinstance(seller, SellerProfile):
            return seller
        try:
            return self.sellers[seller]
        except KeyError:
            raise KeyError(f"unknown seller {seller!r}; known: {sorted(self.sellers)}") from None

    def catalogue(self, seller: str | SellerProfile) -> tuple[Sku, ...]:
        return catalogue(self.seed, self.profile(seller))

    # -- orders ------------------------------------------------------------------------------------------
    def items(
        self,
        seller: str | SellerProfile,
        start: DateLike,
        end: DateLike,
        marketplace_ids: Iterable[str] | None = None,
        as_of: dt.datetime | None = None,
    ) -> Iterator[OrderItem]:
        """Order items purchased in [start, end), day by day, in purchase order across marketplaces."""
        profile = self.profile(seller)
        mkts = [m for m in profile.marketplace_ids if marketplace_ids is None or m in set(marketplace_ids)]
        lo, hi = self.clamp(start, end, as_of)
        day = lo.date()
        while to_utc(day) < hi:
            merged = [it for m in mkts for it in day_items(self.seed, profile, m, day)]
            merged.sort(key=lambda it: (it.purchase_date, it.amazon_order_id, it.order_item_id))
            for it in merged:
                if lo <= it.purchase_date < hi:
                    yield it
            day += dt.timedelta(days=1)

    def order_items(
        self,
        seller: str | SellerProfile,
        start: DateLike,
        end: DateLike,
        marketplace_ids: Iterable[str] | None = None,
        as_of: dt.datetime | None = None,
    ) -> Iterator[dict]:
        """Rows of GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL as typed values, keyed by column.

        Without ``as_of`` each row is in its final state; with it, as a report made at ``as_of`` shows it.
        Amounts are ``Decimal`` (``None`` where the report leaves them empty: cancelled items), dates are
        UTC datetimes, quantity is int, is-business-order is bool.
        """
        for it in self.items(seller, start, end, marketplace_ids, as_of):
            yield order_row(it, as_of)

    def order_summary(
        self,
        seller: str | SellerProfile,
        start: DateLike,
        end: DateLike,
        marketplace_ids: Iterable[str] | None = None,
    ) -> dict:
        """Counts and money per currency over [start, end), final states. Money is a Decimal string.

        ``revenue`` = item-price - item-promotion-discount + shipping-price - ship-promotion-discount
        + gift-wrap-price, over items that are not cancelled; ``item_price`` is the plain sum of item-price.
        """
        orders: set[str] = set()
        rows = units = cancelled = 0
        by_currency: dict[str, dict[str, Decimal]] = {}
        for it in self.items(seller, start, end, marketplace_ids):
            rows += 1
            orders.add(it.amazon_order_id)
            if it.cancelled:
                cancelled += 1
                continue
            units += it.quantity
            money = by_currency.setdefault(
                it.currency,
                {
                    "revenue": Decimal(0),
                    "item_price": Decimal(0),
                    "item_tax": Decimal(0),
                    "item_promotion_discount": Decimal(0),
                },
            )
            money["revenue"] += it.revenue()
            money["item_price"] += it.item_price
            money["item_tax"] += it.item_tax
            money["item_promotion_discount"] += it.item_promotion_discount
        lo, hi = self.clamp(start, end)
        return {
            "seller_id": self.profile(seller).seller_id,
            "start": lo.isoformat(),
            "end": hi.isoformat(),
            "orders": len(orders),
            "order_items": rows,
            "cancelled_items": cancelled,
            "units": units,
            "revenue": {c: str(v["revenue"]) for c, v in sorted(by_currency.items())},
            "item_price": {c: str(v["item_price"]) for c, v in sorted(by_currency.items())},
            "item_tax": {c: str(v["item_tax"]) for c, v in sorted(by_currency.items())},
            "item_promotion_discount": {
                c: str(v["item_promotion_discount"]) for c, v in sorted(by_currency.items())
            },
        }

    # -- money ------------------------------------------------------------------------------------------
    def money_rules(self, seller: str | SellerProfile) -> MoneyRules | None:
        """The seller's full money rules, or None for a ``{"money": "basic"}`` seller."""
        return money_rules(self.seed, self.profile(seller))

    def money_days(
        self,
        seller: str | SellerProfile,
        posted_after: DateLike,
        posted_before: DateLike,
        marketplace_ids: Iterable[str] | None = None,
        from_day: dt.date | None = None,
        claims: bool = True,
        deferred_at_shipment: bool = False,
    ) -> Iterator[tuple[dt.date, list[MoneyEvent], list[AccountEvent]]]:
        """All money posted in [posted_after, posted_before) (and not after now), day by day from ``from_day``:
        (day, item events of the orders purchased that day, account events posted that day). This is the
        resumable cursor the Finances APIs page with. Item events include chargebacks and A-to-z claims
        unless ``claims`` is False. With ``deferred_at_shipment`` a deferred (DD+7) payment counts at its
        shipment, as Finances 2024-06-19 lists it (v0 and settlements: at its maturity), even if not mature."""
        profile = self.profile(seller)
        rules = money_rules(self.seed, profile)
        mkts = [m for m in profile.marketplace_ids if marketplace_ids is None or m in set(marketplace_ids)]
        lo, hi = to_utc(posted_after), min(to_utc(posted_before), self.now())

        def _moment(ev: MoneyEvent) -> dt.datetime:
            return ev.shipped if deferred_at_shipment and ev.shipped is not None else ev.posted

        day = max(from_day or dt.date.min, (lo - MAX_EVENT_LAG).date(), self.first_moment().date())
        while to_utc(day) < hi:
            events = [
                ev
                for m in mkts
                for it in day_items(self.seed, profile, m, day)
                for ev in item_events(it, rules, claims)
                if lo <= _moment(ev) < hi
            ]
            events.sort(key=lambda ev: (_moment(ev), ev.item.amazon_order_id, ev.item.order_item_id, ev.kind))
            account: list[AccountEvent] = []
            if rules is not None and to_utc(day) + dt.timedelta(days=1) > lo:
                account = [
                    ev for m in mkts for ev in account_events(rules, m, day) if lo <= ev.posted < hi
                ]
                account.sort(key=lambda ev: (ev.posted, ev.marketplace_id, ev.kind, ev.reference))
            yield day, events, account
            day += dt.timedelta(days=1)

    def all_money(
        self,
        seller: str | SellerProfile,
        posted_after: DateLike,
        posted_before: DateLike,
        marketplace_ids: Iterable[str] | None = None,
    ) -> Iterator[MoneyEvent | AccountEvent]:
        """Every posting of the money world in [posted_after, posted_before): item events (shipments, refunds,
        chargebacks, A-to-z claims) and account events (fees, ads, reimbursements, reserves, ...)."""
        for _, events, account in self.money_days(seller, posted_after, posted_before, marketplace_ids):
            yield from events
            yield from account

    def money_event_days(
        self,
        seller: str | SellerProfile,
        posted_after: DateLike,
        posted_before: DateLike,
        marketplace_ids: Iterable[str] | None = None,
        from_day: dt.date | None = None,
    ) -> Iterator[tuple[dt.date, list[MoneyEvent]]]:
        """Shipment and refund events posted in [posted_after, posted_before) (and not after now), grouped by
        the purchase day of their order, from ``from_day`` on."""
        for day, events, _ in self.money_days(
            seller, posted_after, posted_before, marketplace_ids, from_day, claims=False
        ):
            yield day, events

    def money_events(
        self,
        seller: str | SellerProfile,
        posted_after: DateLike,
        posted_before: DateLike,
        marketplace_ids: Iterable[str] | None = None,
    ) -> Iterator[MoneyEvent]:
        """Every shipment or refund event of an item posted in [posted_after, posted_before): what Finances
        v0 lists in ShipmentEventList and RefundEventList (``all_money`` has the rest)."""
        for _, events in self.money_event_days(seller, posted_after, posted_before, marketplace_ids):
            yield from events

    def settlements(
        self, seller: str | SellerProfile, published_after: DateLike, published_before: DateLike | None = None
    ) -> list[Settlement]:
        """Settlements published in [published_after, published_before) and by now, oldest first.

        A settlement covers all money posted in [start, end) in one marketplace; only periods that begin
        inside the world's history exist.
        """
        profile = self.profile(seller)
        hi = min(to_utc(published_before) if published_before else self.now(), self.now())
        lo = to_utc(published_after)
        out = []
        for m in profile.marketplace_ids:
            for s in settlement_periods(self.seed, profile.seller_id, m, lo - dt.timedelta(hours=6), hi):
                if lo <= s.published < hi and s.start >= self.first_moment():
                    out.append(s)
        return sorted(out, key=lambda s: (s.published, s.marketplace_id))

    def settlement_of(self, seller: str | SellerProfile, marketplace_id: str, moment: DateLike) -> Settlement:
        """The settlement period of a marketplace that money posted at ``moment`` belongs to."""
        return settlement_at(self.seed, self.profile(seller).seller_id, marketplace_id, to_utc(moment))

    def settlement_total(self, seller: str | SellerProfile, settlement: Settlement) -> Decimal:
        """What the settlement deposits: every posting of its marketplace in its period (reserves included)."""
        return sum(
            (
                ev.total()
                for ev in self.all_money(seller, settlement.start, settlement.end, [settlement.marketplace_id])
            ),
            Decimal(0),
        )

    def money_summary(
        self,
        seller: str | SellerProfile,
        start: DateLike,
        end: DateLike,
        marketplace_ids: Iterable[str] | None = None,
    ) -> dict:
        """All money posted in [start, end), per currency: the total and the sum per category, as Decimal
        strings. Item money is keyed "<kind>/<ChargeType|FeeType|Promotion>" (kinds Order, Refund, Chargeback,
        GuaranteeClaim), account money by its kind (storage, ads, reserve_current, ...); plus the settlements
        whose period ends in the range, with their financial event group id and deposit."""
        by_currency: dict[str, dict[str, Decimal]] = {}
        for ev in self.all_money(seller, start, end, marketplace_ids):
            money = by_currency.setdefault(ev.currency, {})
            if isinstance(ev, AccountEvent):
                money[ev.kind] = money.get(ev.kind, Decimal(0)) + ev.total()
                continue
            for name, amount in (*ev.charges, *ev.fees, *(("Promotion", a) for _, a in ev.promotions)):
                key = f"{ev.kind}/{name}"
                money[key] = money.get(key, Decimal(0)) + amount
        profile = self.profile(seller)
        lo, hi = to_utc(start), min(to_utc(end), self.now())
        settlements = [
            s
            for m in profile.marketplace_ids
            if marketplace_ids is None or m in set(marketplace_ids)
            for s in settlement_periods(self.seed, profile.seller_id, m, lo, hi + dt.timedelta(microseconds=1))
            if s.start >= self.first_moment()
        ]
        return {
            "seller_id": profile.seller_id,
            "start": lo.isoformat(),
            "end": hi.isoformat(),
            "by_currency": {
                c: {"total": str(sum(v.values(), Decimal(0))), "categories": {k: str(a) for k, a in sorted(v.items())}}
                for c, v in sorted(by_currency.items())
            },
            "settlements": [
                {
                    "settlement_id": s.settlement_id,
                    "financial_event_group_id": s.financial_event_group_id,
                    "marketplace_id": s.marketplace_id,
                    "start": s.start.isoformat(),
                    "end": s.end.isoformat(),
                    "deposit_date": s.deposit_date.isoformat(),
                    "total": str(self.settlement_total(profile, s)),
                }
                for s in sorted(settlements, key=lambda s: (s.end, s.marketplace_id))
            ],
        }

    # -- FBA inventory and inbound -----------------------------------------------------------------------
    def _marketplace(self, seller: str | SellerProfile, marketplace_id: str) -> SellerProfile:
        profile = self.profile(seller)
        if marketplace_id not in profile.marketplace_ids:
            raise KeyError(f"seller {profile.seller_id} does not sell in {marketplace_id}")
        return profile

    def inventory(
        self, seller: str | SellerProfile, marketplace_id: str, as_of: DateLike | None = None
    ) -> list[InventoryPosition]:
        """FBA inventory of every stocked (or inbound) AFN SKU at ``as_of`` (default now), by SKU.

        ``warehouse`` = fulfillable + reserved + unfulfillable + researching; between two moments with no
        receipt it falls by exactly the AFN units shipped to buyers (``afn_units_shipped``).
        """
        moment = min(to_utc(as_of), self.now()) if as_of is not None else self.now()
        return _inventory.positions(self.seed, self._marketplace(seller, marketplace_id), marketplace_id, moment)

    def afn_units_shipped(
        self, seller: str | SellerProfile, marketplace_id: str, start: DateLike, end: DateLike
    ) -> dict[str, int]:
        """AFN units that left the fulfilment centres for buyers in [start, end), per SKU."""
        profile = self._marketplace(seller, marketplace_id)
        return _inventory.units_shipped(self.seed, profile, marketplace_id, to_utc(start), to_utc(end))

    def inbound_shipments(
        self,
        seller: str | SellerProfile,
        marketplace_id: str,
        updated_after: DateLike | None = None,
        as_of: DateLike | None = None,
    ) -> list[InboundShipment]:
        """Inbound shipments created in the world's history whose last update (as of ``as_of``, default now)
        is at or after ``updated_after`` (default: the world's first day), oldest first. A shipment's status
        at a moment is ``shipment.status_as_of(moment)``; its items are (sku, quantity, first receipt)."""
        profile = self._marketplace(seller, marketplace_id)
        hi = min(to_utc(as_of), self.now()) if as_of is not None else self.now()
        lo = max(to_utc(updated_after), self.first_moment()) if updated_after else self.first_moment()
        return [
            sh
            for sh in _inventory.shipments_between(self.seed, profile, marketplace_id, lo, hi)
            if sh.created >= self.first_moment()
        ]

    # -- listings, fees, sales and traffic ---------------------------------------------------------------
    def listings(self, seller: str | SellerProfile, marketplace_id: str, as_of: DateLike | None = None) -> list[dict]:
        """GET_MERCHANT_LISTINGS_ALL_DATA rows (typed; names as Unicode: a Cp1252 document shows '?' for
        characters Cp1252 lacks) at ``as_of`` (default now)."""
        profile = self._marketplace(seller, marketplace_id)
        moment = to_utc(as_of) if as_of is not None else self.now()
        return [
            _listings.listing_row(self.seed, profile, s, marketplace_id, moment)
            for s in _listings.listed_skus(self.seed, profile, moment)
        ]

    def estimated_fees(
        self, seller: str | SellerProfile, marketplace_id: str, as_of: DateLike | None = None
    ) -> list[dict]:
        """GET_FBA_ESTIMATED_FBA_FEES_TXT_DATA rows (typed) for the listed AFN SKUs at ``as_of``."""
        profile = self._marketplace(seller, marketplace_id)
        moment = to_utc(as_of) if as_of is not None else self.now()
        return [
            _listings.fee_row(self.seed, profile, s, marketplace_id, moment)
            for s in _listings.listed_skus(self.seed, profile, moment)
            if s.fulfillment == "AFN"
        ]

    def sales_and_traffic(
        self,
        seller: str | SellerProfile,
        marketplace_id: str,
        start: DateLike,
        end: DateLike,
        date_granularity: str = "DAY",
        asin_granularity: str = "PARENT",
        as_of: dt.datetime | None = None,
        shipments_by_asin: bool = False,
    ) -> dict:
        """``salesAndTrafficByDate`` and ``salesAndTrafficByAsin`` over orders purchased in [start, end);
        `shipments_by_asin` adds each SKU's shipped and refunded figures (what Data Kiosk serves)."""
        profile = self._marketplace(seller, marketplace_id)
        lo, hi = self.clamp(start, end, as_of)
        return _sales_and_traffic(
            self.seed, profile, marketplace_id, lo, hi, date_granularity, asin_granularity, shipments_by_asin
        )

    # -- FBA payment and inventory reports (world/fba_reports.py) -----------------------------------------
    def storage_fees(
        self, seller: str | SellerProfile, marketplace_id: str, start: DateLike, end: DateLike,
        as_of: dt.datetime | None = None,
    ) -> list[dict]:
        """GET_FBA_STORAGE_FEE_CHARGES_DATA rows (typed) of the months overlapping [start, end) charged by
        ``as_of``; none for a ``{"money": "basic"}`` seller (it is never charged storage)."""
        profile = self._marketplace(seller, marketplace_id)
        rules = money_rules(self.seed, profile)
        lo, hi = self.clamp(start, end, as_of)
        if rules is None:
            return []
        return list(_fba_reports.storage_fee_rows(rules, marketplace_id, lo, hi, as_of or self.now()))

    def reimbursements(
        self, seller: str | SellerProfile, marketplace_id: str, start: DateLike, end: DateLike,
        as_of: dt.datetime | None = None,
    ) -> list[dict]:
        """GET_FBA_REIMBURSEMENTS_DATA rows (typed) approved in [start, end): the Finances reimbursements and
        clawbacks."""
        profile = self._marketplace(seller, marketplace_id)
        rules = money_rules(self.seed, profile)
        lo, hi = self.clamp(start, end, as_of)
        if rules is None:
            return []
        return list(_fba_reports.reimbursement_rows(rules, marketplace_id, lo, hi, as_of or self.now()))

    def customer_returns(
        self, seller: str | SellerProfile, marketplace_id: str, start: DateLike, end: DateLike,
        as_of: dt.datetime | None = None,
    ) -> list[dict]:
        """GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA rows (typed, with the buyers' free-text comments): the
        FBA items refunded in [start, end)."""
        profile = self._marketplace(seller, marketplace_id)
        lo, hi = self.clamp(start, end, as_of)
        return list(_fba_reports.customer_return_rows(
            self.seed, profile, marketplace_id, lo, hi, as_of or self.now(), money_rules(self.seed, profile)
        ))

    def ledger_summary(
        self, seller: str | SellerProfile, marketplace_id: str, start: DateLike, end: DateLike,
        as_of: dt.datetime | None = None, period: str = "DAILY",
    ) -> list[dict]:
        """GET_LEDGER_SUMMARY_VIEW_DATA rows (typed) of the whole periods in [start, end) ended by ``as_of``."""
        profile = self._marketplace(seller, marketplace_id)
        lo, hi = self.clamp(start, end, as_of)
        return list(_fba_reports.ledger_summary_rows(
            self.seed, profile, marketplace_id, lo, hi, as_of or self.now(), period
        ))

    # -- shipments and PII -------------------------------------------------------------------------------
    def fulfilled_shipments(
        self,
        seller: str | SellerProfile,
        start: DateLike,
        end: DateLike,
        marketplace_ids: Iterable[str] | None = None,
        as_of: dt.datetime | None = None,
    ) -> Iterator[dict]:
        """GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL rows (typed, with buyer PII) of AFN items that shipped
        in [start, end) and by ``as_of``, in shipment order."""
        profile = self.profile(seller)
        lo, hi = self.clamp(start, end, as_of)
        shipped = [
            it
            for it in self.items(profile, lo - MAX_SETTLE_AFN, hi, marketplace_ids, as_of)
            if it.fulfillment == "AFN" and not it.cancelled and lo <= it.settle_date < hi
        ]
        shipped.sort(key=lambda it: (it.settle_date, it.amazon_order_id, it.order_item_id))
        for it in shipped:
            yield shipment_row(self.seed, profile.seller_id, it)

    def pii_values(
        self,
        seller: str | SellerProfile,
        start: DateLike,
        end: DateLike,
        marketplace_ids: Iterable[str] | None = None,
    ) -> set[str]:
        """Every direct PII value (buyer and recipient names, e-mails, phones, street lines, CPFs) of the
        orders purchased in [start, end): what a PII scan of the warehouse must never find."""
        profile = self.profile(seller)
        return pii_of(self.seed, profile.seller_id, self.items(profile, start, end, marketplace_ids))


MAX_SETTLE_AFN = dt.timedelta(hours=31)  # an AFN item ships at most ~30 h after purchase (orders.py)


def order_row(it: OrderItem, as_of: dt.datetime | None = None) -> dict:
    """One all-orders report row as typed values (see ``World.order_items``)."""
    order_status, item_status, updated = it.status_as_of(as_of)
    show = item_status != "Cancelled"
    row = {
        "amazon-order-id": it.amazon_order_id,
        "merchant-order-id": it.merchant_order_id,
        "purchase-date": it.purchase_date,
        "last-updated-date": updated,
        "order-status": order_status,
        "fulfillment-channel": "Amazon" if it.fulfillment == "AFN" else "Merchant",
        "sales-channel": it.sales_channel,
        "order-channel": "",
        "ship-service-level": it.ship_service_level,
        "product-name": it.product_name,
        "sku": it.sku.sku,
        "asin": it.sku.asin,
        "item-status": item_status,
        "quantity": it.quantity if show else 0,
        "currency": it.currency,
        "item-price": _money_or_empty(it.item_price, show),
        "item-tax": _money_or_empty(it.item_tax, show),
        "shipping-price": _money_or_empty(it.shipping_price, show),
        "shipping-tax": _money_or_empty(it.shipping_tax, show),
        "gift-wrap-price": _money_or_empty(it.gift_wrap_price, show),
        "gift-wrap-tax": _money_or_empty(it.gift_wrap_tax, show),
        "item-promotion-discount": _money_or_empty(it.item_promotion_discount, show),
        "ship-promotion-discount": _money_or_empty(it.ship_promotion_discount, show),
        "ship-city": it.buyer.address.city,
        "ship-state": it.buyer.address.state,
        "ship-postal-code": it.buyer.address.postal_code,
        "ship-country": it.buyer.address.country,
        "promotion-ids": it.promotion_ids,
        "cpf": it.buyer.cpf,
        "is-business-order": it.is_business_order,
        "purchase-order-number": it.purchase_order_number,
        "price-designation": it.price_designation,
    }
    assert list(row) == ALL_ORDERS  # noqa: S101 - the row and the published header must never drift apart
    return row


def load_world(state_dir: str | Path, now: dt.datetime | None = None) -> World:
    """The world a server with this ``--state-dir`` serves: its seed and registered sellers."""
    data = json.loads((Path(state_dir) / "state.json").read_text())
    sellers = [
        SellerProfile.from_dict(s["seller_id"], s["marketplace_ids"], s.get("profile"))
        for s in data["sellers"].values()
    ]
    return World(data["seed"], sellers, now=now)
