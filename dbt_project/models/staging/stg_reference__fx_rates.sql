-- The ECB's euro reference rates, one row per publication day and currency (units of currency for 1 EUR).
with

source as (
    select * from {{ source('reference', 'fx_rates') }}
),

renamed as (
    select
        -- ids
        currency as currency_code,
        -- amounts
        rate_per_eur,
        -- dates
        rate_date,
        -- lineage
        _import_id as import_id
    from source
)

select * from renamed
