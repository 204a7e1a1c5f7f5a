-- One row per order item, typed and named for the marts. Cancelled items keep their row with zero revenue.
with

source as (
    select * from {{ source('raw', 'orders') }}
),

renamed as (
    select
        -- ids
        amazon_order_id,
        sku,
        asin,
        -- dates
        purchase_date,
        (purchase_date at time zone 'UTC')::date as order_date,
        -- status
        order_status,
        item_status,
        fulfillment_channel,
        sales_channel,
        coalesce(is_business_order, false) as is_business_order,
        -- amounts, in the order's currency
        currency as currency_code,
        quantity,
        coalesce(item_price, 0) as item_price,
        coalesce(item_tax, 0) as item_tax,
        coalesce(shipping_price, 0) as shipping_price,
        coalesce(gift_wrap_price, 0) as gift_wrap_price,
        coalesce(item_promotion_discount, 0) as item_promotion_discount,
        coalesce(ship_promotion_discount, 0) as ship_promotion_discount,
        order_status = 'Cancelled' or item_status = 'Cancelled' as is_cancelled,
        -- location, never finer than state
        ship_state,
        ship_country,
        -- lineage
        _partition,
        _report_id,
        _loaded_at
    from source
)

select * from renamed
