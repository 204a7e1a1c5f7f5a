-- Every Finances 2024-06-19 transaction line with its P&L category from the fee taxonomy seed. The seed key
-- is (transaction type, breakdown path) and, where the same path means different money for different
-- descriptions (a chargeback is a Refund transaction too), the description: a row naming the description wins
-- over the row for any description (empty). A line the seed does not map keeps its raw type, path and amount
-- with category `unclassified`, so totals never lose money.
with

lines as (
    select * from {{ ref('stg_amazon__finance_transactions') }}
),

taxonomy as (
    select * from {{ ref('fee_taxonomy') }} where source = 'transactions'
),

-- Two plain joins, not a DISTINCT ON over every line, so that a mart reading a window of posting days reads
-- only those lines (the condition reaches the raw table). The seed is unique per (type, path, description),
-- so each join finds at most one row (its data test says so).
matched as (
    select
        lines.*,
        coalesce(described.category, any_description.category) as category
    from lines
    left join taxonomy as described
        on described.transaction_type = lines.transaction_type
        and described.amount_type = lines.breakdown_path
        and coalesce(described.transaction_description, '') <> ''
        and described.transaction_description = lines.transaction_description
    left join taxonomy as any_description
        on any_description.transaction_type = lines.transaction_type
        and any_description.amount_type = lines.breakdown_path
        and coalesce(any_description.transaction_description, '') = ''
),

final as (
    select
        -- ids
        transaction_id,
        transaction_line,
        marketplace_id,
        amazon_order_id,
        settlement_id,
        financial_event_group_id,
        sku,
        -- classification
        transaction_type,
        transaction_status,
        transaction_description,
        breakdown_path,
        -- the seed as it is now decides (a line loaded before the seed learnt its type is classified now)
        coalesce(category, 'unclassified') as category,
        -- amounts
        currency_code,
        amount,
        quantity,
        -- dates
        posted_date,
        posted_date_local,
        posted_day,
        -- lineage
        _partition,
        _loaded_at
    from matched
)

select * from final
