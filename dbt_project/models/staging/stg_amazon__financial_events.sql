-- One row per charge, fee or promotion line of a posted money event (Finances API), with Amazon's signs:
-- charges positive, fees and promotions negative on shipments; on refunds the other way round.
with

source as (
    select * from {{ source('raw', 'financial_events') }}
),

renamed as (
    select
        -- ids
        amazon_order_id,
        order_item_id,
        adjustment_item_id,
        sku,
        marketplace_name,
        -- classification
        event_type,
        line_kind,
        amount_type,
        promotion_id,
        -- amounts
        currency as currency_code,
        quantity,
        coalesce(amount, 0) as amount,
        -- dates
        posted_date,
        (posted_date at time zone 'UTC')::date as posted_day,
        -- lineage
        _partition,
        _loaded_at
    from source
)

select * from renamed
