-- Settlement report rows. The summary row of each report (no transaction type) carries the settlement's
-- total; every other row is one amount of one order or refund.
with

source as (
    select * from {{ source('raw', 'settlements') }}
),

renamed as (
    select
        -- ids
        settlement_id,
        order_id as amazon_order_id,
        adjustment_id,
        order_item_code,
        sku,
        marketplace_id,
        marketplace_name,
        -- classification
        transaction_type,
        amount_type,
        amount_description,
        promotion_id,
        transaction_type is null and total_amount is not null as is_summary,
        -- amounts
        currency as currency_code,
        total_amount,
        amount,
        quantity_purchased,
        -- dates
        settlement_start_date,
        settlement_end_date,
        deposit_date,
        coalesce(posted_date, (posted_date_time at time zone 'UTC')::date) as posted_day,
        -- lineage
        _partition,
        _loaded_at
    from source
)

select * from renamed
