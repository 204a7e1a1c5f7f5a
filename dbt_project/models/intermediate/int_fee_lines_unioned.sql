-- Every fee line the seller was charged (or given back), from the Finances API's money events and, for days
-- the Finances extraction has not covered, from the settlement reports. Both describe the same events, so a
-- posted day and currency is taken from one source only, never from both.
with

event_fees as (
    select
        posted_day,
        coalesce(marketplace_name, '') as marketplace,
        sku,
        currency_code,
        amount_type,
        amount,
        'financial_events'::text as source
    from {{ ref('stg_amazon__financial_events') }}
    where line_kind = 'Fee'
),

covered as (
    select distinct posted_day, currency_code from {{ ref('stg_amazon__financial_events') }}
),

settlement_fees as (
    select
        s.posted_day,
        coalesce(s.marketplace_name, '') as marketplace,
        s.sku,
        s.currency_code,
        s.amount_description as amount_type,
        coalesce(s.amount, 0) as amount,
        'settlements'::text as source
    from {{ ref('stg_amazon__settlements') }} as s
    where s.amount_type = 'ItemFees'
        and not exists (
            select 1 from covered
            where covered.posted_day = s.posted_day and covered.currency_code = s.currency_code
        )
),

unioned as (
    select * from event_fees
    union all
    select * from settlement_fees
)

select
    *,
    {{ fee_type('amount_type') }} as fee_type
from unioned
