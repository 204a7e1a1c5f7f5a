-- Daily sales per SKU and currency: units, orders and revenue. Cancelled items count neither units nor
-- revenue. Currencies are never added together.
--
-- Incremental: a refresh rebuilds only the purchase days whose raw rows were (re)loaded since the last build
-- (the loader replaces a whole day at once, so every row of a reloaded day carries the new load time), and
-- replaces those days entirely (delete+insert on order_date). A full refresh gives exactly the same rows.
-- depends_on: {{ ref('stg_amazon__orders') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_date',
        on_schema_change='fail'
    )
}}

with

daily as (
    select * from {{ ref('int_order_items_grouped_by_day') }}
    {% if is_incremental() %}
    where order_date in (
        select distinct order_date
        from {{ ref('stg_amazon__orders') }}
        where _loaded_at > (select coalesce(max(source_loaded_at), '-infinity') from {{ this }})
    )
    {% endif %}
),

final as (
    select
        order_date,
        sku,
        currency_code,
        units,
        orders,
        gross_revenue,
        promotions,
        shipping_and_gift_wrap,
        revenue,
        source_loaded_at
    from daily
)

select * from final
