-- FBA inventory per SKU and marketplace at each snapshot (FBA Inventory API, details=true). snapshot_day is
-- the marketplace's local day of the snapshot, so stock meets the sales of the same local days.
with

source as (
    select * from {{ source('raw', 'inventory_summaries') }}
),

renamed as (
    select
        -- ids
        sku,
        fnsku,
        marketplace_id,
        -- quantities
        coalesce(fulfillable_quantity, 0) as fulfillable,
        coalesce(reserved_quantity, 0) as reserved,
        coalesce(inbound_working_quantity, 0) as inbound_working,
        coalesce(inbound_shipped_quantity, 0) as inbound_shipped,
        coalesce(inbound_receiving_quantity, 0) as inbound_receiving,
        coalesce(total_quantity, 0) as total_quantity,
        -- dates
        snapshot_at,
        {{ marketplace_local_date('snapshot_at', 'marketplace_id') }} as snapshot_day,
        (snapshot_at at time zone 'UTC')::date as snapshot_day_utc,
        -- lineage
        _partition,
        _loaded_at
    from source
)

select * from renamed
