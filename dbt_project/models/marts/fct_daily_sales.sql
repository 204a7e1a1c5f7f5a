-- Daily sales per SKU and currency: units, orders and revenue (item price less item promotions).
-- Cancelled items count neither units nor revenue. Currencies are never added together.
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
        (sum(item_price) - sum(item_promotion_discount))::numeric(14, 2) as revenue
    from order_items
    group by order_date, sku, currency_code
)

select * from daily
