-- Daily sales per SKU and currency with a row for every day from the SKU's first sale to the last day of
-- data (zero on days without sales), so that rolling windows and day-offset comparisons count calendar days.
-- Days are the marketplace's local days (int_order_items_grouped_by_day).
with

daily as (
    select * from {{ ref('int_order_items_grouped_by_day') }}
),

bounds as (
    select sku, currency_code, min(order_date) as first_day
    from daily
    group by sku, currency_code
),

last_day as (
    select max(order_date) as last_day from daily
),

spine as (
    select
        bounds.sku,
        bounds.currency_code,
        day::date as date_day
    from bounds
    cross join last_day
    cross join lateral generate_series(bounds.first_day, last_day.last_day, interval '1 day') as day
),

filled as (
    select
        spine.date_day,
        spine.sku,
        spine.currency_code,
        coalesce(daily.units, 0)::bigint as units,
        coalesce(daily.orders, 0)::bigint as orders,
        coalesce(daily.revenue, 0)::numeric(14, 2) as revenue,
        coalesce(daily.ordered_product_sales, 0)::numeric(14, 2) as ordered_product_sales,
        coalesce(daily.net_sales, 0)::numeric(14, 2) as net_sales
    from spine
    left join daily
        on daily.order_date = spine.date_day
        and daily.sku = spine.sku
        and daily.currency_code = spine.currency_code
)

select * from filled
