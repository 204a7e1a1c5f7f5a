-- The whole store's sales per purchase day (the marketplace's local day) and currency. Orders are distinct
-- orders (an order with two SKUs is one order), so they are counted here from the order items rather than
-- summed over SKUs. The sales definitions are those of macros/sales_definitions.sql, applied per item in
-- stg_amazon__orders. A mart reading a window of days reads only those days' items (the condition on
-- order_date reaches the items below the grouping).
with

order_items as (
    select * from {{ ref('stg_amazon__orders') }}
),

grouped as (
    select
        order_date,
        currency_code,
        coalesce(sum(quantity) filter (where not is_cancelled), 0)::bigint as units,
        count(distinct amazon_order_id) filter (where not is_cancelled)::bigint as orders,
        coalesce(sum(gross_sales), 0)::numeric(14, 2) as revenue,
        coalesce(sum(ordered_product_sales), 0)::numeric(14, 2) as ordered_product_sales,
        coalesce(sum(net_sales), 0)::numeric(14, 2) as net_sales
    from order_items
    group by order_date, currency_code
)

select * from grouped
