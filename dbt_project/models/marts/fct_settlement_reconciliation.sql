-- Each settlement checked four ways: Amazon's total against the sum of the settlement's own lines; against
-- the Finances 2024-06-19 transactions that carry the settlement's id (SETTLEMENT_ID), in total, fees and
-- sales (fees and sales compared by the P&L category the fee taxonomy seed gives each side's labels); and
-- against the deposit, the financial event group of the settlement (its OriginalTotal and fund transfer).
-- Matching is by settlement id, never by marketplace name (the summary row has none); the group is the one
-- the settlement's transactions name (FINANCIAL_EVENT_GROUP_ID), else the group of the same period and
-- currency.
--
-- VAT on a fee is compared as part of the money it is VAT on: a settlement's order and refund fee rows are
-- VAT-inclusive (one row), while 2024-06-19 splits each EU fee into Base and Tax, and the Tax leaf is category
-- fee_tax. So a Tax leaf counts in the category of its Base sibling (same type, description, path .../Base):
-- the VAT of the commission given back on a chargeback or A-to-z claim is chargeback money on both sides, not
-- a fee on one side and a chargeback on the other (which made every EU settlement with a chargeback a false
-- mismatch).
--
-- A settlement whose period the loaded Finances days do not fully cover cannot be reconciled yet: when its
-- totals differ it is `partial`, not a mismatch. The days needed are the UTC days of [start, end); for a
-- seller on Amazon's delivery-date deferral (DD+7: a payment is posted when it ships and settled when it
-- matures) also the `deferral_reach_days` before the start, when the payments of the period were posted.
-- A day counts as loaded when it holds any transaction line.
{%- set categories = pnl_categories() %}
{%- set fees = categories | selectattr('kind', 'equalto', 'fee') | map(attribute='category') | list %}
{%- set sales = categories | selectattr('kind', 'equalto', 'sales') | map(attribute='category') | list %}
with

settlement_rows as (
    select * from {{ ref('stg_amazon__settlements') }}
),

transaction_lines as (
    select * from {{ ref('int_finance_lines_classified') }}
),

taxonomy as (
    select * from {{ ref('fee_taxonomy') }} where source = 'settlements'
),

transaction_taxonomy as (
    select * from {{ ref('fee_taxonomy') }} where source = 'transactions'
),

compared_lines as (
    -- each transaction line with the category it is compared in (a fee's VAT: its fee's, see the top)
    select
        transaction_lines.*,
        coalesce(base.category, transaction_lines.category) as compared_category
    from transaction_lines
    left join lateral (
        select transaction_taxonomy.category
        from transaction_taxonomy
        where transaction_lines.category = 'fee_tax'
            and transaction_lines.breakdown_path like '%/Tax'
            and transaction_taxonomy.transaction_type = transaction_lines.transaction_type
            and transaction_taxonomy.amount_type = regexp_replace(transaction_lines.breakdown_path, '/Tax$', '/Base')
            and coalesce(transaction_taxonomy.transaction_description, '')
                in ('', coalesce(transaction_lines.transaction_description, ''))
        order by coalesce(transaction_taxonomy.transaction_description, '') desc
        limit 1
    ) as base on true
),

event_groups as (
    select * from {{ ref('stg_amazon__financial_event_groups') }}
),

summaries as (
    select distinct on (settlement_id)
        settlement_id,
        marketplace_id,
        currency_code,
        settlement_start_date,
        settlement_end_date,
        deposit_date,
        total_amount
    from settlement_rows
    where is_summary
    order by settlement_id, _loaded_at desc
),

settlement_lines as (
    select
        settlement_rows.settlement_id,
        settlement_rows.amount,
        coalesce(taxonomy.category, 'unclassified') as category
    from settlement_rows
    left join taxonomy
        on taxonomy.transaction_type = settlement_rows.transaction_type
        and taxonomy.amount_type = settlement_rows.amount_type
        and taxonomy.amount_description = settlement_rows.amount_description
    where not settlement_rows.is_summary
),

lines as (
    select
        settlement_id,
        sum(amount) as lines_total,
        sum(amount) filter (where category in ({{ "'" ~ fees | join("', '") ~ "'" }})) as lines_fees,
        sum(amount) filter (where category in ({{ "'" ~ sales | join("', '") ~ "'" }})) as lines_sales,
        count(*) as line_count,
        count(*) filter (where category = 'unclassified') as unclassified_lines
    from settlement_lines
    group by settlement_id
),

computed as (
    select
        settlement_id,
        sum(amount) as computed_total,
        sum(amount) filter (where compared_category in ({{ "'" ~ fees | join("', '") ~ "'" }})) as computed_fees,
        sum(amount) filter (where compared_category in ({{ "'" ~ sales | join("', '") ~ "'" }})) as computed_sales,
        count(distinct transaction_id) as transactions
    from compared_lines
    where settlement_id is not null
    group by settlement_id
),

deferral as (
    -- a seller whose payments are deferred shows it on any of its transactions
    select exists (select 1 from {{ ref('stg_amazon__finance_transactions') }} where deferral_reason is not null)
        as deferred_seller
),

days_needed as (
    select
        summaries.settlement_id,
        day::date as posted_day
    from summaries
    cross join deferral
    cross join lateral generate_series(
        (summaries.settlement_start_date at time zone 'UTC')::date
            - case when deferral.deferred_seller then {{ var('deferral_reach_days', 13) }} else 0 end,
        ((summaries.settlement_end_date - interval '1 microsecond') at time zone 'UTC')::date,
        interval '1 day'
    ) as day
),

days_loaded as (
    select distinct posted_day from transaction_lines
),

coverage as (
    select
        days_needed.settlement_id,
        count(*) as days_needed,
        count(days_loaded.posted_day) as days_loaded
    from days_needed
    left join days_loaded on days_loaded.posted_day = days_needed.posted_day
    group by days_needed.settlement_id
),

named_groups as (
    select distinct on (settlement_id)
        settlement_id,
        financial_event_group_id
    from transaction_lines
    where settlement_id is not null and financial_event_group_id is not null
    order by settlement_id, financial_event_group_id
),

deposits as (
    select
        summaries.settlement_id,
        event_groups.financial_event_group_id,
        event_groups.original_total,
        event_groups.fund_transfer_status,
        event_groups.fund_transfer_date
    from summaries
    left join named_groups on named_groups.settlement_id = summaries.settlement_id
    inner join event_groups
        on event_groups.financial_event_group_id = named_groups.financial_event_group_id
        or (named_groups.financial_event_group_id is null
            and event_groups.group_start = summaries.settlement_start_date
            and event_groups.group_end = summaries.settlement_end_date
            and event_groups.currency_code = summaries.currency_code)
),

compared as (
    select
        summaries.*,
        deposits.financial_event_group_id,
        deposits.original_total as deposit_total,
        deposits.fund_transfer_status,
        deposits.fund_transfer_date,
        coalesce(lines.lines_total, 0) as lines_total,
        coalesce(lines.lines_fees, 0) as lines_fees,
        coalesce(lines.lines_sales, 0) as lines_sales,
        coalesce(lines.line_count, 0) as line_count,
        coalesce(lines.unclassified_lines, 0) as unclassified_lines,
        coalesce(computed.computed_total, 0) as computed_total,
        coalesce(computed.computed_fees, 0) as computed_fees,
        coalesce(computed.computed_sales, 0) as computed_sales,
        coalesce(computed.transactions, 0) as transactions,
        coalesce(coverage.days_needed, 0) as days_needed,
        coalesce(coverage.days_loaded, 0) as days_loaded
    from summaries
    left join lines on lines.settlement_id = summaries.settlement_id
    left join computed on computed.settlement_id = summaries.settlement_id
    left join coverage on coverage.settlement_id = summaries.settlement_id
    left join deposits on deposits.settlement_id = summaries.settlement_id
),

final as (
    select
        settlement_id,
        marketplace_id,
        currency_code,
        settlement_start_date,
        settlement_end_date,
        deposit_date,
        total_amount::numeric(14, 2) as amazon_total,
        lines_total::numeric(14, 2) as lines_total,
        (total_amount - lines_total)::numeric(14, 2) as lines_difference,
        computed_total::numeric(14, 2) as computed_total,
        (total_amount - computed_total)::numeric(14, 2) as computed_difference,
        lines_fees::numeric(14, 2) as settlement_fees,
        computed_fees::numeric(14, 2) as computed_fees,
        (lines_fees - computed_fees)::numeric(14, 2) as fees_difference,
        lines_sales::numeric(14, 2) as settlement_revenue,
        computed_sales::numeric(14, 2) as computed_revenue,
        (lines_sales - computed_sales)::numeric(14, 2) as revenue_difference,
        line_count::bigint as settlement_lines,
        unclassified_lines::bigint as unclassified_settlement_lines,
        transactions::bigint as computed_transactions,
        days_needed::integer as finances_days_needed,
        days_loaded::integer as finances_days_loaded,
        days_loaded >= days_needed as finances_complete,
        (total_amount <> lines_total) as lines_mismatch,
        (
            total_amount <> computed_total
            or lines_fees <> computed_fees
            or lines_sales <> computed_sales
        ) as computed_differs,
        case
            when total_amount = lines_total and total_amount = computed_total and lines_fees = computed_fees
                and lines_sales = computed_sales then 'matched'
            when total_amount = lines_total and days_loaded < days_needed then 'partial'
            else 'mismatch'
        end as status,
        -- the deposit
        financial_event_group_id,
        deposit_total::numeric(14, 2) as deposit_total,
        (total_amount - deposit_total)::numeric(14, 2) as deposit_difference,
        fund_transfer_status,
        fund_transfer_date,
        case
            when financial_event_group_id is null then 'unknown'
            when deposit_total <> total_amount then 'differs'
            when fund_transfer_status = 'Succeeded' then 'deposited'
            else 'pending'
        end as deposit_status
    from compared
)

select * from final
