-- Daily sales per SKU and currency: units, orders and revenue. Cancelled items count neither units nor
-- revenue. Revenue is what the buyer paid the seller for the item: item price less item promotions, plus
-- shipping charged less shipping promotions, plus gift wrap (taxes are excluded: they are not the seller's).
-- Currencies are never added together.
with

order_items as (
    select * from {{ ref('stg_amazon__orders') }}
    where not is_cancelled
),

daily as (
    select
        order_date,
        sku,
        currency_code,
        sum(quantity)::bigint as units,
        count(distinct amazon_order_id)::bigint as orders,
        sum(item_price)::numeric(14, 2) as gross_revenue,
        sum(item_promotion_discount)::numeric(14, 2) as promotions,
        sum(shipping_price - ship_promotion_discount + gift_wrap_price)::numeric(14, 2) as shipping_and_gift_wrap,
        sum(
            item_price - item_promotion_discount + shipping_price - ship_promotion_discount + gift_wrap_price
        )::numeric(14, 2) as revenue
    from order_items
    group by order_date, sku, currency_code
)

select * from daily
