-- The financial event groups (Finances v0): one per settlement and marketplace, with the money Amazon paid out
-- (or charged) for it and when. A group is asked again while it closes and is paid (a 21-day lookback), so
-- the row with the newest load is the group's current state.
with

source as (
    select * from {{ source('raw', 'financial_event_groups') }}
),

renamed as (
    select distinct on (financial_event_group_id)
        -- ids
        financial_event_group_id,
        -- status
        processing_status,
        fund_transfer_status,
        -- amounts
        original_total,
        currency as currency_code,
        converted_total,
        converted_currency,
        beginning_balance,
        -- dates
        group_start,
        group_end,
        fund_transfer_date,
        -- lineage
        _partition,
        _loaded_at
    from source
    order by financial_event_group_id, _loaded_at desc
)

select * from renamed
