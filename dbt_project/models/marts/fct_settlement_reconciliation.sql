-- Each settlement checked three ways: Amazon's total against the sum of the settlement's own lines, and
-- against what we computed from the Finances API's money events posted in the settlement period (same
-- marketplace and currency): the total, the fees and the revenue. Any difference is flagged, never hidden.
with

settlement_rows as (
    select * from {{ ref('stg_amazon__settlements') }}
),

events as (
    select * from {{ ref('stg_amazon__financial_events') }}
),

summaries as (
    select distinct on (settlement_id)
        settlement_id,
        marketplace_id,
        marketplace_name,
        currency_code,
        settlement_start_date,
        settlement_end_date,
        deposit_date,
        total_amount
    from settlement_rows
    where is_summary
    order by settlement_id, _loaded_at desc
),

lines as (
    select
        settlement_id,
        sum(amount) as lines_total,
        sum(amount) filter (where amount_type = 'ItemFees') as lines_fees,
        sum(amount) filter (
            where amount_type = 'Promotion'
                or (amount_type = 'ItemPrice' and amount_description not in ('Tax', 'ShippingTax', 'GiftWrapTax'))
        ) as lines_revenue,
        count(*) as line_count
    from settlement_rows
    where not is_summary
    group by settlement_id
),

computed as (
    select
        summaries.settlement_id,
        sum(events.amount) as computed_total,
        sum(events.amount) filter (where events.line_kind = 'Fee') as computed_fees,
        sum(events.amount) filter (
            where events.line_kind = 'Promotion'
                or (events.line_kind = 'Charge' and events.amount_type not in ('Tax', 'ShippingTax', 'GiftWrapTax'))
        ) as computed_revenue,
        count(events.amount) as event_lines
    from summaries
    left join events
        on events.currency_code = summaries.currency_code
        and coalesce(events.marketplace_name, '') = coalesce(summaries.marketplace_name, '')
        and events.posted_date >= summaries.settlement_start_date
        and events.posted_date < summaries.settlement_end_date
    group by summaries.settlement_id
),

final as (
    select
        summaries.settlement_id,
        summaries.marketplace_id,
        summaries.currency_code,
        summaries.settlement_start_date,
        summaries.settlement_end_date,
        summaries.deposit_date,
        summaries.total_amount::numeric(14, 2) as amazon_total,
        coalesce(lines.lines_total, 0)::numeric(14, 2) as lines_total,
        (summaries.total_amount - coalesce(lines.lines_total, 0))::numeric(14, 2) as lines_difference,
        coalesce(computed.computed_total, 0)::numeric(14, 2) as computed_total,
        (summaries.total_amount - coalesce(computed.computed_total, 0))::numeric(14, 2) as computed_difference,
        coalesce(lines.lines_fees, 0)::numeric(14, 2) as settlement_fees,
        coalesce(computed.computed_fees, 0)::numeric(14, 2) as computed_fees,
        (coalesce(lines.lines_fees, 0) - coalesce(computed.computed_fees, 0))::numeric(14, 2) as fees_difference,
        coalesce(lines.lines_revenue, 0)::numeric(14, 2) as settlement_revenue,
        coalesce(computed.computed_revenue, 0)::numeric(14, 2) as computed_revenue,
        (coalesce(lines.lines_revenue, 0) - coalesce(computed.computed_revenue, 0))::numeric(14, 2)
            as revenue_difference,
        coalesce(lines.line_count, 0)::bigint as settlement_lines,
        computed.event_lines::bigint as computed_event_lines,
        (summaries.total_amount <> coalesce(lines.lines_total, 0)) as lines_mismatch,
        (
            summaries.total_amount <> coalesce(computed.computed_total, 0)
            or coalesce(lines.lines_fees, 0) <> coalesce(computed.computed_fees, 0)
            or coalesce(lines.lines_revenue, 0) <> coalesce(computed.computed_revenue, 0)
        ) as computed_mismatch
    from summaries
    left join lines on lines.settlement_id = summaries.settlement_id
    left join computed on computed.settlement_id = summaries.settlement_id
)

select * from final
