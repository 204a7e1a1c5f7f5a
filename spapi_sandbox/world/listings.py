"""A seller's listings per marketplace and Amazon's estimated FBA fees for them, as of a moment.

Prices are the world's day prices (``catalogue.unit_price``); the estimated fees use the same rules as the
money events (``finances``): referral fee = Commission rate x sales price, fulfilment fee =
``fba_fee_per_unit_usd`` by unit weight in the marketplace's currency, so the estimate matches what
Finances and settlements charge per unit.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from .. import marketplaces
from ..report_columns import FBA_ESTIMATED_FEES, MERCHANT_LISTINGS_ALL
from .catalogue import SellerProfile, Sku, catalogue, promotion, unit_price
from .finances import COMMISSION_RATE, _money, fba_fee_per_unit_usd
from .inventory import launch
from .rng import alnum, stream

CM_PER_INCH = Decimal("2.54")
KG_PER_POUND = Decimal("0.45359237")
_DESCRIPTIONS = {
    "de": "Hochwertige Qualität – langlebig, spülmaschinenfest. Preis inkl. MwSt. in €.",
    "fr": "Qualité supérieure – durable et élégant. Prix TTC en €.",
    "it": "Qualità superiore – resistente e pratico. Prezzo IVA inclusa in €.",
    "es": "Calidad superior – resistente y práctico. Precio con IVA en €.",
    "pt": "Qualidade superior – resistente e prático.",
    "ja": "高品質で長持ちします。",
    "en": "Premium quality – durable and easy to clean. Ships in 1–2 days.",
}


def listed_skus(seed: int, profile: SellerProfile, as_of: dt.datetime) -> list[Sku]:
    """SKUs listed by ``as_of``: a listing opens 20 days before the SKU starts selling."""
    return [s for s in catalogue(seed, profile) if launch(s) - dt.timedelta(days=20) <= as_of]


def open_date(seed: int, profile: SellerProfile, item: Sku, marketplace_id: str) -> dt.datetime:
    rng = stream(seed, profile.seller_id, item.sku, marketplace_id, "open-date")
    return launch(item) - dt.timedelta(days=rng.randint(3, 20), seconds=rng.randrange(86400))


def listing_row(seed: int, profile: SellerProfile, item: Sku, marketplace_id: str, as_of: dt.datetime) -> dict:
    mkt = marketplaces.get(marketplace_id)
    rng = stream(seed, profile.seller_id, item.sku, marketplace_id, "listing")
    afn = item.fulfillment == "AFN"
    row = {
        "item-name": item.local_name(marketplace_id),
        "item-description": _DESCRIPTIONS.get(mkt.language, _DESCRIPTIONS["en"]),
        "listing-id": f"{as_of:%m%d}" + alnum(rng, 7),
        "seller-sku": item.sku,
        "price": unit_price(seed, profile.seller_id, item, marketplace_id, as_of.date()),
        "quantity": "" if afn else rng.randint(5, 240),
        "open-date": open_date(seed, profile, item, marketplace_id).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "image-url": f"https://m.media-amazon.com/images/I/{alnum(rng, 11)}.jpg",
        "item-is-marketplace": "y",
        "product-id-type": "1",
        "zshop-shipping-fee": "",
        "item-note": "",
        "item-condition": "11",
        "zshop-category1": "",
        "zshop-browse-path": "",
        "zshop-storefront-feature": "",
        "asin1": item.asin,
        "asin2": "",
        "asin3": "",
        "will-ship-internationally": "",
        "expedited-shipping": "",
        "zshop-boldface": "",
        "product-id": item.asin,
        "bid-for-featured-placement": "",
        "add-delete": "",
        "pending-quantity": "" if afn else rng.choices((0, 1, 2), (80, 15, 5))[0],
        "fulfillment-channel": f"AMAZON_{mkt.region.upper()}" if afn else "DEFAULT",
        "merchant-shipping-group": "Migrated Template",
        "status": "Active",
    }
    assert list(row) == MERCHANT_LISTINGS_ALL  # noqa: S101
    return row


def _size_tier(dims_cm: tuple[Decimal, Decimal, Decimal], weight_kg: Decimal) -> str:
    longest, median, shortest = dims_cm
    if weight_kg <= Decimal("0.45") and longest <= 38 and median <= 30 and shortest <= 2:
        return "Small standard-size"
    if weight_kg <= 9 and longest <= 45 and median <= 35 and shortest <= 20:
        return "Large standard-size"
    return "Large bulky"


def fee_row(seed: int, profile: SellerProfile, item: Sku, marketplace_id: str, as_of: dt.datetime) -> dict:
    """Estimated FBA fees of one AFN SKU, per unit, as Finances would charge them at ``as_of``'s price."""
    mkt = marketplaces.get(marketplace_id)
    day = as_of.date()
    price = unit_price(seed, profile.seller_id, item, marketplace_id, day)
    promo = promotion(seed, profile.seller_id, item, marketplace_id, day, profile.promotion_share)
    sales_price = _money(price - price * promo[1], mkt) if promo else price
    referral = _money(sales_price * COMMISSION_RATE, mkt)
    fulfilment = _money(fba_fee_per_unit_usd(item.weight_kg) * mkt.fx_from_usd, mkt)
    dims = (item.length_cm, item.width_cm, item.height_cm)
    imperial = mkt.country == "US"
    if imperial:
        shown = tuple((d / CM_PER_INCH).quantize(Decimal("0.01")) for d in dims)
        weight = (item.weight_kg / KG_PER_POUND).quantize(Decimal("0.01"))
    else:
        shown, weight = dims, item.weight_kg.quantize(Decimal("0.001"))
    zero = _money(Decimal(0), mkt)
    row = {
        "sku": item.sku,
        "fnsku": item.fnsku,
        "asin": item.asin,
        "product-name": item.local_name(marketplace_id),
        "product-group": item.product_group,
        "brand": item.brand,
        "fulfilled-by": "Amazon",
        "your-price": price,
        "sales-price": sales_price,
        "longest-side": shown[0],
        "median-side": shown[1],
        "shortest-side": shown[2],
        "length-and-girth": shown[0] + 2 * (shown[1] + shown[2]),
        "unit-of-dimension": "inches" if imperial else "centimeters",
        "item-package-weight": weight,
        "unit-of-weight": "pounds" if imperial else "kilograms",
        "product-size-tier": _size_tier(dims, item.weight_kg),
        "currency": mkt.currency,
        "estimated-fee-total": referral + fulfilment,
        "estimated-referral-fee-per-unit": referral,
        "estimated-variable-closing-fee": zero,
        "estimated-order-handling-fee-per-order": zero,
        "estimated-pick-pack-fee-per-unit": fulfilment,
        "estimated-weight-handling-fee-per-unit": zero,
        "expected-fulfillment-fee-per-unit": fulfilment,
    }
    assert list(row) == FBA_ESTIMATED_FEES  # noqa: S101
    return row
