-- Daily sales of the whole store per currency (int_store_orders_grouped_by_day), with a row for every day from
-- the first sale to the last day of data. Days are the marketplace's local days (stg_amazon__orders); the
-- spine is macros/days_filled.sql.
with

daily as (
    select * from {{ ref('int_store_orders_grouped_by_day') }}
),

{{ days_filled('daily', ['currency_code'], daily_sales_measures()) }}

select * from filled
