-- Sales trends per day: for each SKU (grain = 'sku') and for the whole store (grain = 'store', sku null),
-- per currency. Days are the marketplace's local days (stg_amazon__orders). Traffic (sessions, page views)
-- joins on the Sales and Traffic report's own date, which is Amazon's marketplace-local day (the sandbox's
-- is the UTC day: docs/marts.md). Rolling sums cover calendar days ending on date_day (days without sales count as zero).
-- Week-over-week compares the 7 days ending on date_day with the 7 days before them; year-over-year compares
-- them with the same 7 weekdays 52 weeks earlier (364 days, so weekdays line up).
with

sku_days as (
    select
        'sku'::text as grain,
        date_day,
        sku,
        currency_code,
        units,
        orders,
        revenue,
        ordered_product_sales,
        net_sales
    from {{ ref('int_sales_days_filled') }}
),

store_days as (
    select
        'store'::text as grain,
        date_day,
        null::text as sku,
        currency_code,
        units,
        orders,
        revenue,
        ordered_product_sales,
        net_sales
    from {{ ref('int_store_days_filled') }}
),

days as (
    select * from sku_days
    union all
    select * from store_days
),

rolling as (
    select
        *,
        sum(units) over last_7 as units_7d,
        sum(revenue) over last_7 as revenue_7d,
        sum(orders) over last_7 as orders_7d,
        sum(units) over last_28 as units_28d,
        sum(revenue) over last_28 as revenue_28d,
        sum(orders) over last_28 as orders_28d
    from days
    window
        series as (partition by grain, sku, currency_code order by date_day),
        last_7 as (series rows between 6 preceding and current row),
        last_28 as (series rows between 27 preceding and current row)
),

compared as (
    select
        *,
        lag(revenue_7d, 7) over series as revenue_7d_week_before,
        lag(revenue_7d, 364) over series as revenue_7d_year_before
    from rolling
    window series as (partition by grain, sku, currency_code order by date_day)
),

sku_traffic as (
    select date_day, sku, currency_code, sum(sessions) as sessions, sum(page_views) as page_views
    from {{ ref('stg_amazon__sales_traffic_by_sku') }}
    group by date_day, sku, currency_code
),

store_traffic as (
    select date_day, currency_code, sum(sessions) as sessions, sum(page_views) as page_views
    from {{ ref('stg_amazon__sales_traffic_by_date') }}
    group by date_day, currency_code
),

with_traffic as (
    select
        compared.*,
        coalesce(sku_traffic.sessions, store_traffic.sessions) as sessions,
        coalesce(sku_traffic.page_views, store_traffic.page_views) as page_views
    from compared
    left join sku_traffic
        on compared.grain = 'sku'
        and sku_traffic.date_day = compared.date_day
        and sku_traffic.sku = compared.sku
        and sku_traffic.currency_code = compared.currency_code
    left join store_traffic
        on compared.grain = 'store'
        and store_traffic.date_day = compared.date_day
        and store_traffic.currency_code = compared.currency_code
),

final as (
    select
        date_day,
        grain,
        sku,
        currency_code,
        units,
        orders,
        revenue,
        units_7d::bigint as units_7d,
        orders_7d::bigint as orders_7d,
        revenue_7d::numeric(14, 2) as revenue_7d,
        units_28d::bigint as units_28d,
        orders_28d::bigint as orders_28d,
        revenue_28d::numeric(14, 2) as revenue_28d,
        {{ growth('revenue_7d', 'revenue_7d_week_before') }}::numeric(12, 4) as revenue_wow_growth,
        {{ growth('revenue_7d', 'revenue_7d_year_before') }}::numeric(12, 4) as revenue_yoy_growth,
        sessions::bigint as sessions,
        page_views::bigint as page_views,
        -- Orders per session; none where Amazon reported no sessions.
        (case when sessions > 0 then round(orders::numeric / sessions, 4) end)::numeric(12, 4) as conversion_rate,
        ordered_product_sales,
        net_sales
    from with_traffic
)

select * from final
