-- Traffic per SKU, marketplace and UTC day from the Sales and Traffic report (SKU granularity).
with

source as (
    select * from {{ source('raw', 'sales_traffic_by_sku') }}
),

renamed as (
    select
        -- ids
        sku,
        marketplace_id,
        -- dates
        date as date_day,
        -- traffic, in the marketplace's currency context
        currency as currency_code,
        coalesce(sessions, 0) as sessions,
        coalesce(page_views, 0) as page_views,
        coalesce(units_ordered, 0) as units_ordered,
        -- lineage
        _partition,
        _loaded_at
    from source
)

select * from renamed
