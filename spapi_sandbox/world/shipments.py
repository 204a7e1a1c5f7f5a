"""Amazon-fulfilled (AFN) shipments with the buyer PII they carry, and the list of every PII value generated.

GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL holds buyer names, e-mails, phones and full addresses. The extra
details beyond what orders already carry (recipient, address lines 2-3, bill-to) come from a stream keyed by
the order, so the order generator's own streams never change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from ..report_columns import AMAZON_FULFILLED_SHIPMENTS
from . import people
from .orders import OrderItem
from .rng import digits, stream


def delivery(seed: int, seller_id: str, item: OrderItem) -> people.Delivery:
    return people.delivery(stream(seed, seller_id, item.amazon_order_id, "delivery"), item.buyer)


def shipment_row(seed: int, seller_id: str, item: OrderItem) -> dict:
    """One report row (typed values) for a shipped AFN item."""
    more = delivery(seed, seller_id, item)
    rng = stream(seed, seller_id, item.order_item_id, "shipment-item")
    addr = item.buyer.address
    row = {
        "amazon-order-id": item.amazon_order_id,
        "merchant-order-id": item.merchant_order_id,
        "shipment-id": item.shipment_id,
        "shipment-item-id": "D" + digits(rng, 13),
        "amazon-order-item-id": item.order_item_id,
        "merchant-order-item-id": "",
        "purchase-date": item.purchase_date,
        "payments-date": item.purchase_date + dt.timedelta(seconds=rng.randint(30, 900)),
        "shipment-date": item.settle_date,
        "reporting-date": item.settle_date + dt.timedelta(seconds=rng.randint(600, 7200)),
        "buyer-email": item.buyer.email,
        "buyer-name": item.buyer.name,
        "buyer-phone-number": item.buyer.phone,
        "sku": item.sku.sku,
        "product-name": item.product_name,
        "quantity-shipped": item.quantity,
        "currency": item.currency,
        "item-price": item.item_price,
        "item-tax": item.item_tax,
        "shipping-price": item.shipping_price,
        "shipping-tax": item.shipping_tax,
        "gift-wrap-price": item.gift_wrap_price,
        "gift-wrap-tax": item.gift_wrap_tax,
        "ship-service-level": item.ship_service_level,
        "recipient-name": more.recipient_name,
        "ship-address-1": more.ship_address[0],
        "ship-address-2": more.ship_address[1],
        "ship-address-3": more.ship_address[2],
        "ship-city": addr.city,
        "ship-state": addr.state,
        "ship-postal-code": addr.postal_code,
        "ship-country": addr.country,
        "ship-phone-number": more.ship_phone,
        "bill-address-1": more.bill_address[0],
        "bill-address-2": more.bill_address[1],
        "bill-address-3": more.bill_address[2],
        "bill-city": more.bill_city,
        "bill-state": more.bill_state,
        "bill-postal-code": more.bill_postal_code,
        "bill-country": more.bill_country,
        "item-promotion-discount": item.item_promotion_discount,
        "ship-promotion-discount": item.ship_promotion_discount,
        "carrier": item.carrier,
        "tracking-number": item.tracking_number,
        "estimated-arrival-date": item.settle_date + dt.timedelta(days=rng.randint(1, 4), hours=rng.randint(0, 8)),
        "fulfillment-center-id": item.fulfillment_center_id,
        "fulfillment-channel": "AFN",
        "sales-channel": item.sales_channel,
    }
    assert list(row) == AMAZON_FULFILLED_SHIPMENTS  # noqa: S101 - the row and the header must never drift apart
    return row


def pii_of(seed: int, seller_id: str, items: Iterable[OrderItem]) -> set[str]:
    """Every direct PII value of these items' buyers: names, e-mails, phones, street lines, CPFs.

    Cities, states, postal codes and countries (quasi-PII, shared by many buyers) are left out so a scan for
    these values has no false positives.
    """
    out: set[str] = set()
    for it in items:
        b = it.buyer
        more = delivery(seed, seller_id, it)
        out.update((b.name, b.email, b.phone, b.address.line1, b.cpf, more.recipient_name, more.ship_phone))
        out.update(more.ship_address)
        out.update(more.bill_address)
    out.discard("")
    return out
