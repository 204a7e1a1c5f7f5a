-- Margins per day, SKU and currency. Sales (units, gross revenue, promotions) count on the purchase day;
-- refunds and Amazon's fees on the day Amazon posted them; cost of goods is units x the seller's unit cost
-- valid on the purchase day, in the same currency (a cost in another currency is never applied: the row then
-- has no cost and no margin). All amounts are positive numbers except net_margin. Amounts exclude VAT in every
-- marketplace: EU and UK prices include it (the orders report's item-tax etc., macros/sales_definitions.sql),
-- so gross revenue takes it out and gross revenue - promotions is the day's net sales.
--
-- Incremental (dbt_project.yml): a daily build replaces the days of its window (macros/incremental_window.sql):
-- the restatement lookback, and any older day whose orders or money were loaded, or whose unit cost was
-- imported, since the last build (a cost valid from a day changes every later day's margin until the next
-- version).
-- depends_on: {{ ref('stg_amazon__orders') }} {{ ref('int_finance_lines_classified') }}
{%- set inputs = [
    {'relation': ref('stg_amazon__orders'), 'loaded_at': '_loaded_at', 'day': 'order_date'},
    {'relation': ref('int_finance_lines_classified'), 'loaded_at': '_loaded_at', 'day': 'posted_date_local'},
    {'relation': ref('int_unit_costs_versioned'), 'loaded_at': 'imported_at', 'day': 'valid_from'},
] %}
{{- create_incremental_window('date_day', inputs) }}
with

sales as (
    select
        order_date as date_day,
        sku,
        currency_code,
        units,
        (gross_revenue + shipping_and_gift_wrap_charged - vat)::numeric(14, 2) as gross_revenue,
        (promotions + shipping_promotions)::numeric(14, 2) as promotions
    from {{ ref('int_order_items_grouped_by_day') }}
    where {{ in_window('order_date') }}
),

money as (
    select * from {{ ref('int_money_events_grouped_by_day') }}
    where {{ in_window('date_day') }}
),

costs as (
    select * from {{ ref('int_unit_costs_versioned') }}
),

combined as (
    select
        coalesce(sales.date_day, money.date_day) as date_day,
        coalesce(sales.sku, money.sku) as sku,
        coalesce(sales.currency_code, money.currency_code) as currency_code,
        coalesce(sales.units, 0) as units,
        coalesce(sales.gross_revenue, 0) as gross_revenue,
        coalesce(sales.promotions, 0) as promotions,
        coalesce(money.refunds, 0) as refunds,
        coalesce(money.amazon_fees, 0) as amazon_fees
    from sales
    full outer join money
        on money.date_day = sales.date_day
        and money.sku = sales.sku
        and money.currency_code = sales.currency_code
),

costed as (
    select
        combined.*,
        costs.unit_cost,
        case
            when combined.units = 0 then 0
            else round(combined.units * costs.unit_cost, 2)
        end as cost_of_goods
    from combined
    left join costs
        on costs.sku = combined.sku
        and costs.currency_code = combined.currency_code
        and combined.date_day >= costs.valid_from
        and (costs.valid_to is null or combined.date_day < costs.valid_to)
),

final as (
    select
        date_day,
        sku,
        currency_code,
        units::bigint as units,
        gross_revenue::numeric(14, 2) as gross_revenue,
        promotions::numeric(14, 2) as promotions,
        refunds::numeric(14, 2) as refunds,
        amazon_fees::numeric(14, 2) as amazon_fees,
        unit_cost::numeric(14, 4) as unit_cost,
        cost_of_goods::numeric(14, 2) as cost_of_goods,
        (gross_revenue - promotions - refunds - amazon_fees - cost_of_goods)::numeric(14, 2) as net_margin,
        case
            when gross_revenue - promotions - refunds > 0
                then round(
                    100 * (gross_revenue - promotions - refunds - amazon_fees - cost_of_goods)
                    / (gross_revenue - promotions - refunds),
                    2
                )
        end::numeric(10, 2) as margin_pct,
        {{ inputs_loaded_at(inputs) }}::timestamptz as source_loaded_at
    from costed
)

select * from final
