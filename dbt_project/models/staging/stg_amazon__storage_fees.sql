-- Amazon's monthly storage fee per FNSKU and fulfilment centre (storage-fee report), one row per charged month,
-- FNSKU and centre as the latest snapshot of the report shows it (each day's snapshot repeats the recent
-- months; the last one wins). charge_month is the month the units were stored (month_of_charge), billed early
-- in the month after. The fee is before VAT, in the marketplace currency.
with

source as (
    select * from {{ source('raw', 'storage_fees') }}
),

latest as (
    select distinct on (marketplace_id, month_of_charge, fnsku, fulfillment_center) *
    from source
    order by marketplace_id, month_of_charge, fnsku, fulfillment_center, snapshot_at desc
),

renamed as (
    select
        -- ids
        marketplace_id,
        fnsku,
        asin,
        fulfillment_center,
        -- the month stored
        to_date(month_of_charge || '-01', 'YYYY-MM-DD') as charge_month,
        -- quantities and volume (cubic feet in the US, cubic centimetres elsewhere: volume_units says which)
        coalesce(average_quantity_on_hand, 0) as average_quantity_on_hand,
        coalesce(item_volume, 0) as item_volume,
        coalesce(estimated_total_item_volume, 0) as estimated_total_item_volume,
        volume_units,
        product_size_tier,
        -- amounts
        currency as currency_code,
        storage_rate,
        coalesce(estimated_monthly_storage_fee, 0) as estimated_monthly_storage_fee,
        -- lineage
        snapshot_at,
        _partition,
        _loaded_at
    from latest
)

select * from renamed
