-- Order items summed per purchase day, SKU and currency. Every (day, SKU, currency) that has any item keeps
-- a row, even when all its items were cancelled (zeros), so an incremental rebuild of a day always replaces
-- what a cancellation changed. Revenue is what the buyer paid the seller for the items: item price less item
-- promotions, plus shipping less shipping promotions, plus gift wrap (taxes are not the seller's money).
with

order_items as (
    select * from {{ ref('stg_amazon__orders') }}
),

grouped as (
    select
        order_date,
        sku,
        currency_code,
        -- counts
        coalesce(sum(quantity) filter (where not is_cancelled), 0)::bigint as units,
        count(distinct amazon_order_id) filter (where not is_cancelled)::bigint as orders,
        -- amounts
        coalesce(sum(item_price) filter (where not is_cancelled), 0)::numeric(14, 2) as gross_revenue,
        coalesce(sum(item_promotion_discount) filter (where not is_cancelled), 0)::numeric(14, 2) as promotions,
        coalesce(sum(shipping_price - ship_promotion_discount + gift_wrap_price) filter (where not is_cancelled), 0)
            ::numeric(14, 2) as shipping_and_gift_wrap,
        coalesce(sum(shipping_price + gift_wrap_price) filter (where not is_cancelled), 0)
            ::numeric(14, 2) as shipping_and_gift_wrap_charged,
        coalesce(sum(ship_promotion_discount) filter (where not is_cancelled), 0)::numeric(14, 2) as shipping_promotions,
        -- lineage: the newest load of the raw rows behind this row
        max(_loaded_at) as source_loaded_at
    from order_items
    group by order_date, sku, currency_code
),

final as (
    select
        *,
        (gross_revenue - promotions + shipping_and_gift_wrap)::numeric(14, 2) as revenue
    from grouped
)

select * from final
