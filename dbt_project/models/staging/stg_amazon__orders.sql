-- One row per order item, typed and named for the marts. Cancelled items keep their row with zero sales.
-- order_date is the marketplace's local day of the purchase (the day Seller Central shows it on); the
-- marketplace comes from the sales channel, and an item of an unknown channel is dated by its UTC day.
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
        {{ marketplace_of_sales_channel('sales_channel') }} as marketplace_id,
        -- dates
        purchase_date,
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
        coalesce(shipping_tax, 0) as shipping_tax,
        coalesce(gift_wrap_price, 0) as gift_wrap_price,
        coalesce(gift_wrap_tax, 0) as gift_wrap_tax,
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
),

dated as (
    select
        *,
        {{ marketplace_local_date('purchase_date', 'marketplace_id') }} as order_date,
        (purchase_date at time zone 'UTC')::date as order_date_utc,
        -- sales, by the definitions in macros/sales_definitions.sql
        {{ ordered_product_sales('item_price', 'is_cancelled') }} as ordered_product_sales,
        {{ gross_sales('item_price', 'item_promotion_discount', 'shipping_price', 'ship_promotion_discount',
                       'gift_wrap_price', 'is_cancelled') }} as gross_sales,
        {{ tax_included_in_sales('item_tax', 'shipping_tax', 'gift_wrap_tax', 'marketplace_id', 'is_cancelled') }}
            as tax_included
    from renamed
),

final as (
    select
        *,
        gross_sales - tax_included as net_sales
    from dated
)

select * from final
