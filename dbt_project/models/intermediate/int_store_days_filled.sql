-- Daily sales of the whole store per currency, with a row for every day from the first sale to the last day
-- of data. Orders are distinct orders (an order with two SKUs is one order), so they are counted here from
-- the order items rather than summed over SKUs. Days are the marketplace's local days (stg_amazon__orders);
-- the sales definitions are those of macros/sales_definitions.sql, applied per item in stg_amazon__orders.
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

bounds as (
    select currency_code, min(order_date) as first_day from daily group by currency_code
),

last_day as (
    select max(order_date) as last_day from daily
),

spine as (
    select bounds.currency_code, day::date as date_day
    from bounds
    cross join last_day
    cross join lateral generate_series(bounds.first_day, last_day.last_day, interval '1 day') as day
),

filled as (
    select
        spine.date_day,
        spine.currency_code,
        coalesce(daily.units, 0)::bigint as units,
        coalesce(daily.orders, 0)::bigint as orders,
        coalesce(daily.revenue, 0)::numeric(14, 2) as revenue,
        coalesce(daily.ordered_product_sales, 0)::numeric(14, 2) as ordered_product_sales,
        coalesce(daily.net_sales, 0)::numeric(14, 2) as net_sales
    from spine
    left join daily on daily.order_date = spine.date_day and daily.currency_code = spine.currency_code
)

select * from filled
