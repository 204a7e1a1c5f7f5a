-- Amazon's fees per marketplace, local posting day (and its UTC day), SKU, fee category and fee (the breakdown
-- path Amazon names it by), with the seller's sign: negative is charged, positive given back (a refund returns
-- the commission). Every fee category of the fee taxonomy is here, VAT on EU fees as its own category
-- (`fee_tax`); money that names no SKU (the subscription, an ads invoice) has sku null. Fees in two
-- currencies are two rows.
--
-- Incremental (dbt_project.yml): a daily build replaces the posting days of its window
-- (macros/incremental_window.sql: the restatement lookback, and any older day whose lines were loaded since the
-- last build).
{%- set inputs = [
    {'relation': ref('int_finance_lines_classified'), 'loaded_at': '_loaded_at', 'day': 'posted_date_local'},
] %}
{{- create_incremental_window('date_day', inputs) }}
{%- set fees = pnl_categories() | selectattr('kind', 'equalto', 'fee') | map(attribute='category') | list %}
with

fee_lines as (
    select * from {{ ref('int_finance_lines_classified') }}
    where category in ({{ "'" ~ fees | join("', '") ~ "'" }})
        and {{ in_window('posted_date_local', '_partition') }}
),

final as (
    select
        posted_date_local as date_day,
        posted_day as utc_day,
        marketplace_id,
        sku,
        category as fee_category,
        breakdown_path as fee_type,
        currency_code,
        sum(amount)::numeric(14, 2) as amount,
        count(*)::bigint as fee_lines,
        {{ inputs_loaded_at(inputs) }}::timestamptz as source_loaded_at
    from fee_lines
    group by posted_date_local, posted_day, marketplace_id, sku, category, breakdown_path, currency_code
)

select * from final
