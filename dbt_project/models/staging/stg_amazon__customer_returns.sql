-- FBA units buyers returned, from the customer returns report (the buyer's comment never lands: the PII
-- firewall drops it). return_date_local is the marketplace's local day of the return.
with

source as (
    select * from {{ source('raw', 'customer_returns') }}
),

renamed as (
    select
        -- ids
        amazon_order_id,
        marketplace_id,
        sku,
        asin,
        fnsku,
        fulfillment_center_id,
        -- what came back
        quantity,
        detailed_disposition,
        detailed_disposition = 'SELLABLE' as is_sellable,
        reason,
        status,
        -- dates
        return_date,
        {{ marketplace_local_date('return_date', 'marketplace_id') }} as return_date_local,
        -- lineage
        _partition,
        _loaded_at
    from source
)

select * from renamed
