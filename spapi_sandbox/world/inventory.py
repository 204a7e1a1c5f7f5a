"""FBA stock and inbound shipments of a seller's AFN SKUs per marketplace: moved by sales and by receipts.

Replenishment runs in cycles per (seller, marketplace) of 24-35 days. At the start ``C_k`` of cycle k the seller
sends inbound shipments that top every AFN SKU up to a target ``T_k``; the units arrive at the fulfilment
centre within ~2 weeks (partly when receiving starts, the rest when the shipment closes), before the next
cycle begins. The target depends only on the demand *trend* (growth, never season or sales), so it never
falls, and every shipped quantity has a closed form:

    S_k = T_{k-1} - units shipped to buyers in [C_{k-1}, C_k)   (stock when cycle k starts; 0 before launch)
    Q_k = T_k - S_k                                             (units sent in cycle k, never negative)
    warehouse(t) = S_k - shipped in [C_k, t) + units received by t from cycle k's shipments

So the state at any moment needs the sales of at most two cycles, never a replay from the first day. Units
leave the warehouse when an AFN item ships (its ``settle_date``); until then they are reserved for the order.
A seasonal peak may, in rare cases, sell more than the target: quantities shown are then clamped at 0.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache

from .. import marketplaces
from .catalogue import SellerProfile, Sku, catalogue
from .orders import CATALOGUE_ANCHOR, _marketplace_share, order_skeletons
from .rng import alnum, stream

UTC = dt.UTC
DAY = dt.timedelta(days=1)
# Cycles count from a fixed day before the catalogue anchor, so every SKU gets stock before it launches.
CYCLE_ORIGIN = dt.datetime.combine(CATALOGUE_ANCHOR - dt.timedelta(days=120), dt.time(), tzinfo=UTC)
LEAD_TIME = dt.timedelta(days=16)  # a cycle's shipments are closed by then; the first one precedes launch
COVER_CYCLES = 3.0  # the target holds ~3 cycles of trend demand, so seasonal peaks rarely empty the shelf
SAFETY_UNITS = 8
UNITS_PER_ORDER = 1.16 * 1.18  # mean quantity per item x mean distinct items per order
MAX_SETTLE = dt.timedelta(hours=72)  # longest purchase -> ship/cancel delay in orders.py (AFN: 30 h)

# Fulfilment centres per country, for inbound destinations.
_CENTRES = {
    "US": ("SEA8", "PHX6", "BFI4", "ONT8", "MDW2"),
    "CA": ("YYZ4", "YVR2"),
    "MX": ("MEX5",),
    "BR": ("GRU5",),
    "GB": ("BHX4", "LBA1"),
    "DE": ("LEJ1", "MUC3", "DUS2"),
    "FR": ("CDG7", "ORY1"),
    "IT": ("MXP5", "FCO1"),
    "ES": ("MAD4", "BCN1"),
    "JP": ("NRT1", "KIX2"),
}
_WAREHOUSE_NAMES = ("Retkee Logistics", "Northgate Fulfilment", "Harbor 3PL Services", "Kestrel Warehousing")
_STREETS = ("Industrial Pkwy", "Gewerbestraße", "Rue de l'Industrie", "Via dell'Industria", "Logistics Way")


@dataclass(frozen=True)
class InboundShipment:
    """One inbound shipment to a fulfilment centre, with its status timeline and its items."""

    shipment_id: str
    shipment_name: str
    marketplace_id: str
    destination: str
    cycle: int
    timeline: tuple[tuple[str, dt.datetime], ...]  # (ShipmentStatus, from when), in order
    items: tuple[tuple[str, int, int], ...]  # (seller sku, quantity shipped, received when RECEIVING starts)
    label_prep_type: str
    box_contents_source: str
    are_cases_required: bool
    ship_from: dict  # the seller's warehouse (a business, not a person)

    @property
    def created(self) -> dt.datetime:
        return self.timeline[0][1]

    def status_as_of(self, as_of: dt.datetime) -> tuple[str, dt.datetime] | None:
        """(status, last updated) at ``as_of``; None when the shipment does not exist yet."""
        current = None
        for status, moment in self.timeline:
            if moment <= as_of:
                current = (status, moment)
        return current

    def received_as_of(self, sku: str, as_of: dt.datetime) -> int:
        status = self.status_as_of(as_of)
        for s, quantity, first in self.items:
            if s == sku and status:
                return {"RECEIVING": first, "CLOSED": quantity}.get(status[0], 0)
        return 0


@dataclass(frozen=True)
class InventoryPosition:
    """One AFN SKU's FBA inventory in one marketplace at one moment (Inventory API / MYI report)."""

    sku: Sku
    marketplace_id: str
    as_of: dt.datetime
    warehouse: int  # afn-warehouse-quantity: fulfillable + reserved + unfulfillable + researching
    fulfillable: int
    pending_customer_order: int
    pending_transshipment: int
    fc_processing: int
    unfulfillable: dict  # customerDamagedQuantity, ... (UnfulfillableQuantity fields without the total)
    researching: dict  # researchingQuantityInShortTerm, ...
    inbound_working: int
    inbound_shipped: int
    inbound_receiving: int
    last_updated: dt.datetime

    @property
    def reserved(self) -> int:
        return self.pending_customer_order + self.pending_transshipment + self.fc_processing

    @property
    def unfulfillable_total(self) -> int:
        return sum(self.unfulfillable.values())

    @property
    def researching_total(self) -> int:
        return sum(self.researching.values())

    @property
    def total(self) -> int:
        """totalQuantity: in the warehouse plus every inbound unit."""
        return self.warehouse + self.inbound_working + self.inbound_shipped + self.inbound_receiving


# -- cycles --------------------------------------------------------------------------------------------------
@lru_cache(maxsize=256)
def cycle_length(seed: int, seller_id: str, marketplace_id: str) -> int:
    return stream(seed, seller_id, marketplace_id, "replenishment").randint(24, 35)


def cycle_start(seed: int, seller_id: str, marketplace_id: str, k: int) -> dt.datetime:
    hours = stream(seed, seller_id, marketplace_id, "cycle", k).uniform(7, 17)
    length = cycle_length(seed, seller_id, marketplace_id)
    return CYCLE_ORIGIN + dt.timedelta(days=k * length, hours=hours)


def cycle_index(seed: int, seller_id: str, marketplace_id: str, moment: dt.datetime) -> int:
    """The cycle running at ``moment`` (the last one started at or before it)."""
    k = (moment - CYCLE_ORIGIN).days // cycle_length(seed, seller_id, marketplace_id)
    return k if cycle_start(seed, seller_id, marketplace_id, k) <= moment else k - 1


def launch(item: Sku) -> dt.datetime:
    return dt.datetime.combine(CATALOGUE_ANCHOR + dt.timedelta(days=item.launch_offset_days), dt.time(), UTC)


def first_cycle(seed: int, seller_id: str, marketplace_id: str, item: Sku) -> int:
    """The cycle whose shipment brings a SKU's first stock, received before it starts selling."""
    return cycle_index(seed, seller_id, marketplace_id, launch(item) - LEAD_TIME)


def afn_skus(seed: int, profile: SellerProfile) -> list[Sku]:
    return [s for s in catalogue(seed, profile) if s.fulfillment == "AFN"]


@lru_cache(maxsize=256)
def _catalogue_totals(seed: int, profile: SellerProfile) -> tuple[float, dict[str, int]]:
    """The catalogue's total popularity and its SKU count per fulfilment channel."""
    skus = catalogue(seed, profile)
    channels = [s.fulfillment for s in skus]
    return sum(s.popularity for s in skus), {f: channels.count(f) for f in set(channels)}


def target(seed: int, profile: SellerProfile, marketplace_id: str, item: Sku, k: int) -> int:
    """Units the seller tops a SKU up to in cycle k: trend demand only, so it never decreases with k."""
    popularity, per_channel = _catalogue_totals(seed, profile)
    weight = item.popularity / popularity
    same_channel = per_channel[item.fulfillment]
    start = cycle_start(seed, profile.seller_id, marketplace_id, k)
    growth = 1.12 ** ((start.date() - CATALOGUE_ANCHOR).days / 365.25)
    per_day = (
        profile.orders_per_day
        * _marketplace_share(seed, profile.seller_id, profile.marketplace_ids, marketplace_id)
        * growth
        * UNITS_PER_ORDER
        * (weight + 0.18 / same_channel)
    )
    length = cycle_length(seed, profile.seller_id, marketplace_id)
    return math.ceil(COVER_CYCLES * length * per_day) + SAFETY_UNITS


# -- AFN movements -------------------------------------------------------------------------------------------
def _afn_day(seed: int, profile: SellerProfile, marketplace_id: str, day: dt.date) -> tuple:
    """(sku, purchase, settle, quantity, cancelled) of the day's AFN items: all inventory needs of orders."""
    return tuple(
        (item.sku, order.purchase, order.settle, quantity, order.cancelled)
        for order in order_skeletons(seed, profile, marketplace_id, day)
        if order.fulfillment == "AFN"
        for item, quantity in zip(order.skus, order.quantities, strict=True)
    )


def afn_movements(seed: int, profile: SellerProfile, marketplace_id: str, lo: dt.datetime, hi: dt.datetime):
    """AFN items that may ship or be pending in [lo, hi): purchased from ``lo - MAX_SETTLE`` to ``hi``."""
    day = (lo - MAX_SETTLE).date()
    while day <= hi.date():
        yield from _afn_day(seed, profile, marketplace_id, day)
        day += DAY


def units_shipped(
    seed: int, profile: SellerProfile, marketplace_id: str, lo: dt.datetime, hi: dt.datetime
) -> dict[str, int]:
    """AFN units that left the warehouse (shipped to buyers) in [lo, hi), per SKU."""
    out: dict[str, int] = {}
    for sku, _purchase, settle, quantity, cancelled in afn_movements(seed, profile, marketplace_id, lo, hi):
        if not cancelled and lo <= settle < hi:
            out[sku] = out.get(sku, 0) + quantity
    return out


@lru_cache(maxsize=2048)
def cycle_quantities(seed: int, profile: SellerProfile, marketplace_id: str, k: int) -> dict[str, tuple[int, int]]:
    """{sku: (S_k stock at the cycle's start, Q_k units sent)} for the AFN SKUs stocked by cycle k."""
    seller = profile.seller_id
    skus = [s for s in afn_skus(seed, profile) if first_cycle(seed, seller, marketplace_id, s) <= k]
    if not skus:
        return {}
    start = cycle_start(seed, seller, marketplace_id, k)
    sold = units_shipped(seed, profile, marketplace_id, cycle_start(seed, seller, marketplace_id, k - 1), start)
    out = {}
    for s in skus:
        first = first_cycle(seed, seller, marketplace_id, s) == k
        stock = 0 if first else target(seed, profile, marketplace_id, s, k - 1) - sold.get(s.sku, 0)
        out[s.sku] = (stock, target(seed, profile, marketplace_id, s, k) - stock)
    return out


def _fixed_digest(*parts: object) -> int:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest(), 16)


def warehouse_address(seed: int, seller_id: str, marketplace_id: str) -> dict:
    """The seller's ship-from warehouse in the marketplace's country (a business address, not PII)."""
    from .people import _PLACES  # the same realistic places buyers live in

    country = marketplaces.get(marketplace_id).country
    rng = stream(seed, seller_id, marketplace_id, "warehouse")
    city, state, _ = rng.choice(_PLACES[country])
    return {
        "Name": rng.choice(_WAREHOUSE_NAMES),
        "AddressLine1": f"{rng.randint(1, 900)} {rng.choice(_STREETS)}",
        "City": city[:30],
        "StateOrProvinceCode": state[:2].upper() if country in ("US", "CA") else state[:10],
        "CountryCode": country,
        "PostalCode": "".join(c if c != "#" else str(rng.randrange(10)) for c in "#####"),
    }


@lru_cache(maxsize=2048)
def cycle_shipments(seed: int, profile: SellerProfile, marketplace_id: str, k: int) -> tuple[InboundShipment, ...]:
    """The inbound shipments of cycle k: the real ones (1-2 centres) and, sometimes, a deleted draft."""
    seller = profile.seller_id
    quantities = cycle_quantities(seed, profile, marketplace_id, k)
    start = cycle_start(seed, seller, marketplace_id, k)
    country = marketplaces.get(marketplace_id).country
    rng = stream(seed, seller, marketplace_id, "inbound", k)
    centres = list(_CENTRES[country])
    rng.shuffle(centres)
    n = min(len(centres), 2 if len(quantities) > 6 and rng.random() < 0.5 else 1)
    groups: list[list[tuple[str, int, int]]] = [[] for _ in range(n)]
    for sku, (_stock, quantity) in sorted(quantities.items()):
        if quantity > 0:
            first = round(quantity * rng.uniform(0.4, 0.8))
            groups[_fixed_digest(seed, seller, sku, k) % n].append((sku, quantity, first))
    ship_from = warehouse_address(seed, seller, marketplace_id)
    out = []
    for j, items in enumerate(groups):
        if not items:
            continue
        moments, t = [], start
        for status, lo, hi in (
            ("WORKING", 0, 0),
            ("SHIPPED", 24, 72),
            ("IN_TRANSIT", 6, 24),
            ("DELIVERED", 48, 120),
            ("CHECKED_IN", 2, 8),
            ("RECEIVING", 4, 20),
            ("CLOSED", 24, 72),
        ):
            t = t + dt.timedelta(seconds=round(rng.uniform(lo, hi) * 3600))
            moments.append((status, t))
        out.append(
            InboundShipment(
                shipment_id="FBA" + alnum(rng, 9),
                shipment_name=f"FBA ({start:%d/%m/%Y %H:%M}) - {j + 1}",
                marketplace_id=marketplace_id,
                destination=centres[j],
                cycle=k,
                timeline=tuple(moments),
                items=tuple(items),
                label_prep_type=rng.choice(("SELLER_LABEL", "SELLER_LABEL", "AMAZON_LABEL", "NO_LABEL")),
                box_contents_source=rng.choice(("FEED", "2D_BARCODE", "INTERACTIVE")),
                are_cases_required=rng.random() < 0.3,
                ship_from=ship_from,
            )
        )
    if quantities and rng.random() < 0.15:  # a draft the seller deleted before sending anything
        created = start - dt.timedelta(days=3, hours=rng.uniform(0, 12))
        items = tuple((sku, max(1, q // 2), 0) for sku, (_s, q) in sorted(quantities.items())[:3] if q > 0)
        if items:
            out.append(
                InboundShipment(
                    shipment_id="FBA" + alnum(rng, 9),
                    shipment_name=f"FBA ({created:%d/%m/%Y %H:%M}) - draft",
                    marketplace_id=marketplace_id,
                    destination=centres[0],
                    cycle=k,
                    timeline=(("WORKING", created), ("DELETED", created + dt.timedelta(hours=rng.uniform(2, 30)))),
                    items=items,
                    label_prep_type="SELLER_LABEL",
                    box_contents_source="NONE",
                    are_cases_required=False,
                    ship_from=ship_from,
                )
            )
    return tuple(out)


def _extras(seed: int, seller_id: str, marketplace_id: str, sku: str, k: int) -> tuple[dict, dict, int, int]:
    """Per-cycle units that are in the warehouse but not sellable: damaged, being researched, sidelined."""
    rng = stream(seed, seller_id, marketplace_id, sku, "extras", k)
    unfulfillable = {
        "customerDamagedQuantity": rng.choices((0, 1, 2), (70, 22, 8))[0],
        "warehouseDamagedQuantity": rng.choices((0, 1), (85, 15))[0],
        "distributorDamagedQuantity": 0,
        "carrierDamagedQuantity": rng.choices((0, 1), (92, 8))[0],
        "defectiveQuantity": rng.choices((0, 1), (90, 10))[0],
        "expiredQuantity": 0,
    }
    researching = {
        "researchingQuantityInShortTerm": rng.choices((0, 1, 2), (80, 15, 5))[0],
        "researchingQuantityInMidTerm": rng.choices((0, 1), (93, 7))[0],
        "researchingQuantityInLongTerm": 0,
    }
    return unfulfillable, researching, rng.choices((0, 1, 2), (85, 10, 5))[0], rng.choices((0, 1), (90, 10))[0]


def _take(wanted: dict, room: int) -> tuple[dict, int]:
    """As much of ``wanted`` as fits in ``room`` units, field by field; returns (taken, room left)."""
    out = {}
    for name, value in wanted.items():
        out[name] = min(value, room)
        room -= out[name]
    return out, room


def positions(
    seed: int, profile: SellerProfile, marketplace_id: str, as_of: dt.datetime
) -> list[InventoryPosition]:
    """Every AFN SKU stocked (or inbound) in the marketplace at ``as_of``, in SKU order."""
    seller = profile.seller_id
    k = cycle_index(seed, seller, marketplace_id, as_of)
    start = cycle_start(seed, seller, marketplace_id, k)
    quantities = cycle_quantities(seed, profile, marketplace_id, k)
    shipments = [
        sh
        for j in (k, k + 1)  # the next cycle's deleted draft may already exist
        for sh in cycle_shipments(seed, profile, marketplace_id, j)
        if sh.status_as_of(as_of)
    ]
    shipped: dict[str, int] = {}
    pending: dict[str, int] = {}
    touched: dict[str, dt.datetime] = {}
    for sku, purchase, settle, quantity, cancelled in afn_movements(seed, profile, marketplace_id, start, as_of):
        if purchase > as_of:
            continue
        if settle <= as_of:
            if not cancelled and settle >= start:
                shipped[sku] = shipped.get(sku, 0) + quantity
            touched[sku] = max(touched.get(sku, settle), settle)
        else:
            pending[sku] = pending.get(sku, 0) + quantity
            touched[sku] = max(touched.get(sku, purchase), purchase)
    out = []
    for item in afn_skus(seed, profile):
        inbound = {"WORKING": 0, "SHIPPED": 0, "RECEIVING": 0}
        received = 0
        last = start if item.sku in quantities else None
        for sh in shipments:
            for sku, quantity, first in sh.items:
                if sku != item.sku:
                    continue
                status, moment = sh.status_as_of(as_of)
                last = max(last or moment, moment)
                if status == "WORKING":
                    inbound["WORKING"] += quantity
                elif status in ("SHIPPED", "IN_TRANSIT", "DELIVERED", "CHECKED_IN"):
                    inbound["SHIPPED"] += quantity
                elif status == "RECEIVING":
                    inbound["RECEIVING"] += quantity - first
                if sh.cycle == k:
                    received += sh.received_as_of(sku, as_of)
        if last is None:
            continue  # not stocked yet: no inventory and nothing inbound
        stock = quantities[item.sku][0] if item.sku in quantities else 0
        warehouse = max(0, stock + received - shipped.get(item.sku, 0))
        unfulfillable, researching, transship, processing = _extras(seed, seller, marketplace_id, item.sku, k)
        room = warehouse
        customer = min(pending.get(item.sku, 0), room)
        room -= customer
        unfulfillable, room = _take(unfulfillable, room)
        researching, room = _take(researching, room)
        sidelined, room = _take({"t": transship, "p": processing}, room)
        if item.sku in touched:
            last = max(last, touched[item.sku])
        out.append(
            InventoryPosition(
                sku=item,
                marketplace_id=marketplace_id,
                as_of=as_of,
                warehouse=warehouse,
                fulfillable=room,
                pending_customer_order=customer,
                pending_transshipment=sidelined["t"],
                fc_processing=sidelined["p"],
                unfulfillable=unfulfillable,
                researching=researching,
                inbound_working=inbound["WORKING"],
                inbound_shipped=inbound["SHIPPED"],
                inbound_receiving=inbound["RECEIVING"],
                last_updated=last,
            )
        )
    return sorted(out, key=lambda p: p.sku.sku)


def shipments_between(
    seed: int, profile: SellerProfile, marketplace_id: str, lo: dt.datetime, hi: dt.datetime
) -> list[InboundShipment]:
    """Inbound shipments created before ``hi`` whose last update (as of ``hi``) is at or after ``lo``."""
    seller = profile.seller_id
    out = []
    k_hi = cycle_index(seed, seller, marketplace_id, hi) + 1
    k_lo = cycle_index(seed, seller, marketplace_id, lo - LEAD_TIME) - 1
    for k in range(max(k_lo, -2), k_hi + 1):
        for sh in cycle_shipments(seed, profile, marketplace_id, k):
            state = sh.status_as_of(hi)
            if state and state[1] >= lo:
                out.append(sh)
    return sorted(out, key=lambda sh: (sh.created, sh.shipment_id))
