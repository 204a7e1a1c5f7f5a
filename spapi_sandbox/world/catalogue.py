"""A seller's profile and SKU catalogue: what it sells, where, at which prices, and how each item ships."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from .. import marketplaces
from .rng import alnum, stream

_ADJECTIVES = [
    "Stainless",
    "Bamboo",
    "Ergonomic",
    "Compact",
    "Premium",
    "Foldable",
    "Insulated",
    "Magnetic",
    "Waterproof",
    "Organic",
    "Ceramic",
    "Wireless",
    "Adjustable",
    "Vintage",
    "Cordless",
]
_NOUNS = [
    "Water Bottle",
    "Cutting Board",
    "Desk Lamp",
    "Phone Stand",
    "Yoga Mat",
    "Coffee Grinder",
    "Backpack",
    "Garden Hose",
    "Spice Rack",
    "Bike Light",
    "Pet Bowl",
    "Tea Infuser",
    "Knife Set",
    "Shower Caddy",
    "Laptop Sleeve",
    "Hiking Socks",
    "Cable Organizer",
    "Bread Box",
]
# Local names with non-ASCII letters, so charset handling (UTF-8 vs Cp1252) is really exercised.
_LOCAL_SUFFIX = {
    "de": "für Küche & Büro",
    "fr": "pour cuisine et café",
    "es": "para cocina y baño",
    "it": "per cucina e caffè",
    "pt": "para cozinha e escritório",
    "ja": "キッチン用",
}
_BRANDS = ["Retkee Home", "Nordfjell", "Casa Lumo", "Brightwick", "Kōyō Goods", "Alpenrot"]
_GROUPS = ["Kitchen", "Home", "Sports", "Office Product", "Pet Products", "Lawn & Patio"]

CENT = Decimal("0.01")


@dataclass(frozen=True)
class SellerProfile:
    """The generator parameters of one seller; everything else about it follows from (seed, seller_id)."""

    seller_id: str
    marketplace_ids: tuple[str, ...]
    skus: int = 40
    orders_per_day: float = 25.0
    afn_share: float = 0.7  # share of SKUs fulfilled by Amazon (AFN); the rest are merchant-fulfilled
    cancel_rate: float = 0.02
    refund_rate: float = 0.04
    business_share: float = 0.08
    promotion_share: float = 0.15  # share of SKU-weeks with a promotion running
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def from_dict(cls, seller_id: str, marketplace_ids, profile: dict | None) -> SellerProfile:
        profile = dict(profile or {})
        known = {k: profile.pop(k) for k in list(profile) if k in cls.__dataclass_fields__}
        known.pop("seller_id", None)
        known.pop("marketplace_ids", None)
        for name in ("skus",):
            if name in known:
                known[name] = int(known[name])
        for name in (
            "orders_per_day",
            "afn_share",
            "cancel_rate",
            "refund_rate",
            "business_share",
            "promotion_share",
        ):
            if name in known:
                known[name] = float(known[name])
        return cls(seller_id=seller_id, marketplace_ids=tuple(marketplace_ids), extra=profile, **known)

    def to_dict(self) -> dict:
        return {
            "skus": self.skus,
            "orders_per_day": self.orders_per_day,
            "afn_share": self.afn_share,
            "cancel_rate": self.cancel_rate,
            "refund_rate": self.refund_rate,
            "business_share": self.business_share,
            "promotion_share": self.promotion_share,
            **self.extra,
        }


@dataclass(frozen=True)
class Sku:
    sku: str
    asin: str
    fnsku: str
    name: str
    brand: str
    product_group: str
    base_price_usd: Decimal
    fulfillment: str  # "AFN" (Fulfilled by Amazon) or "MFN" (merchant)
    popularity: float
    launch_offset_days: int  # days after the world's first day that the SKU starts selling
    length_cm: Decimal
    width_cm: Decimal
    height_cm: Decimal
    weight_kg: Decimal

    def local_name(self, marketplace_id: str) -> str:
        suffix = _LOCAL_SUFFIX.get(marketplaces.get(marketplace_id).language)
        return f"{self.name} {suffix}" if suffix else self.name

    def list_price(self, marketplace_id: str) -> Decimal:
        """The undiscounted unit price in the marketplace's currency, ending in .99 (whole yen in JP)."""
        mkt = marketplaces.get(marketplace_id)
        raw = self.base_price_usd * mkt.fx_from_usd
        if mkt.currency_decimals == 0:
            return raw.quantize(Decimal("10"), rounding=ROUND_HALF_UP)
        return (raw.quantize(Decimal("1"), rounding=ROUND_HALF_UP) - CENT).max(Decimal("0.99"))


@lru_cache(maxsize=256)
def catalogue(seed: int, profile: SellerProfile) -> tuple[Sku, ...]:
    """The seller's SKUs, derived from (seed, seller_id, profile) only."""
    rng = stream(seed, profile.seller_id, "catalogue")
    prefix = alnum(rng, 3)
    out = []
    for i in range(profile.skus):
        dims = sorted((Decimal(rng.randint(40, 600)) / 10 for _ in range(3)), reverse=True)
        noun, brand = rng.choice(_NOUNS), rng.choice(_BRANDS)
        out.append(
            Sku(
                sku=f"{prefix}-{noun.split()[-1].upper()[:5]}-{i + 1:04d}",
                asin="B0" + alnum(rng, 8),
                fnsku="X00" + alnum(rng, 7),
                name=f"{brand} {rng.choice(_ADJECTIVES)} {noun}, "
                f"{rng.choice(['Black', 'Natural', 'Sage Green', 'Slate Grey', 'Coral'])}",
                brand=brand,
                product_group=rng.choice(_GROUPS),
                base_price_usd=Decimal(str(round(rng.lognormvariate(3.2, 0.6), 2))).max(Decimal("6")),
                fulfillment="AFN" if rng.random() < profile.afn_share else "MFN",
                # Zipf-like: a few SKUs sell most of the units.
                popularity=1.0 / (i + 1) ** 0.9,
                launch_offset_days=0 if rng.random() < 0.7 else rng.randint(30, 600),
                length_cm=dims[0],
                width_cm=dims[1],
                height_cm=dims[2],
                weight_kg=(Decimal(rng.randint(80, 6000)) / 1000),
            )
        )
    return tuple(out)


def price_factor(seed: int, seller_id: str, sku: str, marketplace_id: str, day: dt.date) -> Decimal:
    """The seller's price change for a SKU on a day: a step function that moves every few weeks."""
    rng = stream(seed, seller_id, sku, "epoch-offset")
    epoch_len = rng.randint(21, 56)
    epoch = (day.toordinal() + rng.randint(0, epoch_len)) // epoch_len
    step = stream(seed, seller_id, sku, marketplace_id, "price", epoch)
    return Decimal(str(round(step.uniform(0.88, 1.08), 2)))


def unit_price(seed: int, seller_id: str, item: Sku, marketplace_id: str, day: dt.date) -> Decimal:
    mkt = marketplaces.get(marketplace_id)
    price = item.list_price(marketplace_id) * price_factor(seed, seller_id, item.sku, marketplace_id, day)
    if mkt.currency_decimals == 0:
        return price.quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return (price.quantize(Decimal("1"), rounding=ROUND_HALF_UP) - CENT).max(Decimal("0.99"))


def promotion(
    seed: int, seller_id: str, item: Sku, marketplace_id: str, day: dt.date, share: float
) -> tuple[str, Decimal] | None:
    """The promotion running for a SKU in the ISO week of ``day``: (promotion id, discount rate) or None."""
    year, week, _ = day.isocalendar()
    rng = stream(seed, seller_id, item.sku, marketplace_id, "promo", year, week)
    if rng.random() >= share:
        return None
    rate = Decimal(rng.choice(["0.10", "0.15", "0.20", "0.05"]))
    return f"Coupon-{alnum(rng, 10)}", rate
