-- Daily sales of the whole store per currency, with a row for every day from the first sale to the last day
-- of data. Orders are distinct orders (an order with two SKUs is one order), so they are counted here from
-- the order items rather than summed over SKUs. Days are the marketplace's local days (stg_amazon__orders);
-- the sales definitions are those of macros/sales_definitions.sql, applied per item in stg_amazon__orders;
-- the spine is macros/days_filled.sql.
with

order_items as (
    select * from {{ ref('stg_amazon__orders') }}
),

daily as (
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
),

{{ days_filled('daily', ['currency_code'], daily_sales_measures()) }}

select * from filled
