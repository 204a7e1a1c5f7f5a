-- The inventory ledger's summary view per UTC day, marketplace, FNSKU and disposition: starting and ending
-- warehouse balance and the movements between (outflows negative, as Amazon writes them).
with

source as (
    select * from {{ source('raw', 'inventory_ledger') }}
),

renamed as (
    select
        -- ids
        marketplace_id,
        sku,
        fnsku,
        asin,
        disposition,
        location,
        -- the day
        date as ledger_day,
        -- units
        coalesce(starting_warehouse_balance, 0) as starting_warehouse_balance,
        coalesce(receipts, 0) as receipts,
        coalesce(customer_shipments, 0) as customer_shipments,
        coalesce(customer_returns, 0) as customer_returns,
        coalesce(vendor_returns, 0) as vendor_returns,
        coalesce(warehouse_transfer_in_out, 0) as warehouse_transfer_in_out,
        coalesce(in_transit_between_warehouses, 0) as in_transit_between_warehouses,
        coalesce(found, 0) as found,
        coalesce(lost, 0) as lost,
        coalesce(damaged, 0) as damaged,
        coalesce(disposed, 0) as disposed,
        coalesce(other_events, 0) as other_events,
        coalesce(unknown_events, 0) as unknown_events,
        coalesce(ending_warehouse_balance, 0) as ending_warehouse_balance,
        -- lineage
        _partition,
        _loaded_at
    from source
)

select * from renamed
