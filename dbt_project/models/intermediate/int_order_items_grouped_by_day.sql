-- Order items summed per purchase day (the marketplace's local day, as Seller Central counts it), SKU and
-- currency. Every (day, SKU, currency) that has any item keeps a row, even when all its items were cancelled
-- (zeros), so an incremental rebuild of a day always replaces what a cancellation changed. The sales
-- definitions (ordered product sales, revenue, VAT, net sales) are in macros/sales_definitions.sql and are
-- applied per order item in stg_amazon__orders; here they are only summed.
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
        sum(ordered_product_sales)::numeric(14, 2) as ordered_product_sales,
        sum(gross_sales)::numeric(14, 2) as revenue,
        sum(tax_included)::numeric(14, 2) as vat,
        sum(net_sales)::numeric(14, 2) as net_sales,
        -- lineage: the newest load of the raw rows behind this row
        max(_loaded_at) as source_loaded_at
    from order_items
    group by order_date, sku, currency_code
)

select * from grouped
