-- Sales trends per day: for each SKU (grain = 'sku') and for the whole store (grain = 'store', sku null),
-- per currency. Days are the marketplace's local days (stg_amazon__orders). Traffic (sessions, page views)
-- joins on the Sales and Traffic report's own date, which is Amazon's marketplace-local day (the sandbox's
-- is the UTC day: docs/marts.md). Rolling sums cover calendar days ending on date_day (days without sales count as zero).
-- Week-over-week compares the 7 days ending on date_day with the 7 days before them; year-over-year compares
-- them with the same 7 weekdays 52 weeks earlier (364 days, so weekdays line up).
--
-- Incremental (dbt_project.yml): a daily build replaces the days of its window (macros/incremental_window.sql:
-- the restatement lookback, which covers sales and traffic restated within 72 hours, and any older day whose
-- orders or traffic were loaded since the last build), and every later day, since a day's sales reach the
-- windows of the days after it. The window's rows are computed from the 27 days before it as well (the 28-day
-- sums, and the 7-day sum a week earlier); the year-over-year comparison reads the 7-day revenue of 364 days
-- earlier from the rows already built before the window. SKUs and currencies the mart holds on the day before
-- the window carry on (their zero days are rows too), so every build gives the rows a full build would.
-- depends_on: {{ ref('int_order_items_grouped_by_day') }} {{ ref('int_store_orders_grouped_by_day') }}
-- depends_on: {{ ref('stg_amazon__orders') }}
{%- set inputs = [
    {'relation': ref('stg_amazon__orders'), 'loaded_at': '_loaded_at', 'day': 'order_date'},
    {'relation': ref('stg_amazon__sales_traffic_by_sku'), 'loaded_at': '_loaded_at', 'day': 'date_day'},
    {'relation': ref('stg_amazon__sales_traffic_by_date'), 'loaded_at': '_loaded_at', 'day': 'date_day'},
] %}
{{- create_incremental_window('date_day', inputs) }}
{%- set reach = 27 %}
with

{% if is_incremental() -%}
sku_daily as (
    select * from {{ ref('int_order_items_grouped_by_day') }}
    where {{ in_window('order_date', days_before=reach) }}
),

sku_started as (
    select sku, currency_code, {{ window_first_day() }} - {{ reach }} as first_day
    from {{ this }}
    where grain = 'sku' and date_day = {{ window_first_day() }} - 1
),

{{ days_filled('sku_daily', ['sku', 'currency_code'], daily_sales_measures(), 'sku_started', 'sku_') }},

store_daily as (
    select * from {{ ref('int_store_orders_grouped_by_day') }}
    where {{ in_window('order_date', days_before=reach) }}
),

store_started as (
    select currency_code, {{ window_first_day() }} - {{ reach }} as first_day
    from {{ this }}
    where grain = 'store' and date_day = {{ window_first_day() }} - 1
),

{{ days_filled('store_daily', ['currency_code'], daily_sales_measures(), 'store_started', 'store_') }},

{% endif -%}
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
    from {{ 'sku_filled' if is_incremental() else ref('int_sales_days_filled') }}
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
    from {{ 'store_filled' if is_incremental() else ref('int_store_days_filled') }}
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

-- the 7-day revenue of every day a year-over-year comparison may need: built before the window, or now
revenue_7d_by_day as (
    {%- if is_incremental() %}
    select grain, sku, currency_code, date_day, revenue_7d
    from {{ this }}
    where date_day >= {{ window_first_day() }} - 364 and date_day < {{ window_first_day() }}
    union all
    {%- endif %}
    select grain, sku, currency_code, date_day, revenue_7d
    from rolling
    where {{ in_window('date_day') }}
),

compared as (
    select
        rolling.*,
        lag(rolling.revenue_7d, 7) over series as revenue_7d_week_before,
        year_before.revenue_7d as revenue_7d_year_before
    from rolling
    left join revenue_7d_by_day as year_before
        on year_before.grain = rolling.grain
        -- (store rows have no SKU; coalesce, not `is not distinct from`, keeps it a hash join)
        and coalesce(year_before.sku, '') = coalesce(rolling.sku, '')
        and year_before.currency_code = rolling.currency_code
        and year_before.date_day = rolling.date_day - 364
    window series as (partition by rolling.grain, rolling.sku, rolling.currency_code order by rolling.date_day)
),

sku_traffic as (
    select date_day, sku, currency_code, sum(sessions) as sessions, sum(page_views) as page_views
    from {{ ref('stg_amazon__sales_traffic_by_sku') }}
    where {{ in_window('date_day') }}
    group by date_day, sku, currency_code
),

store_traffic as (
    select date_day, currency_code, sum(sessions) as sessions, sum(page_views) as page_views
    from {{ ref('stg_amazon__sales_traffic_by_date') }}
    where {{ in_window('date_day') }}
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
        net_sales,
        {{ inputs_loaded_at(inputs) }}::timestamptz as source_loaded_at
    from with_traffic
    where {{ in_window('date_day') }}
)

select * from final
