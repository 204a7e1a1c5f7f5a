-- Daily sales per SKU and currency with a row for every day from the SKU's first sale to the last day of
-- data (zero on days without sales), so that rolling windows and day-offset comparisons count calendar days.
-- Days are the marketplace's local days (int_order_items_grouped_by_day); the spine is macros/days_filled.sql.
with

daily as (
    select * from {{ ref('int_order_items_grouped_by_day') }}
),

{{ days_filled('daily', ['sku', 'currency_code'], daily_sales_measures()) }}

select * from filled
