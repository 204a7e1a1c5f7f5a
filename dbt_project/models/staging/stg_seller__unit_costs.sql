-- Unit costs the seller provided (`retkee costs import`), one row per imported line; every import is kept.
with

source as (
    select * from {{ source('seller', 'unit_costs') }}
),

renamed as (
    select
        -- ids
        sku,
        -- amounts
        currency as currency_code,
        unit_cost,
        -- dates
        valid_from,
        -- lineage
        _import_id as import_id,
        _imported_at as imported_at,
        _line_number as line_number
    from source
)

select * from renamed
