-- Amazon's fees per posted day, marketplace, SKU, fee type and currency, with Amazon's sign: negative is
-- charged to the seller, positive is given back (a refund returns the commission). Fees in two currencies are
-- two rows.
with

fee_lines as (
    select * from {{ ref('int_fee_lines_unioned') }}
),

final as (
    select
        posted_day as date_day,
        marketplace,
        sku,
        fee_type,
        currency_code,
        sum(amount)::numeric(14, 2) as amount,
        count(*)::bigint as fee_lines,
        min(source) as source
    from fee_lines
    group by posted_day, marketplace, sku, fee_type, currency_code
)

select * from final
