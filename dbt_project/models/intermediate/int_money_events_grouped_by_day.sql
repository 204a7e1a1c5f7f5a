-- What Amazon's posted money did to each SKU per local posting day and currency (Finances 2024-06-19
-- transactions, by the fee taxonomy's category): refunds (money given back to buyers, chargebacks and A-to-z
-- claims included) and Amazon's fees of every fee category (net of fees given back, VAT on fees excluded as
-- sales are net of VAT; unclassified money counted here too, so nothing is lost), both as positive amounts the
-- seller bears. Money that names no SKU is allocated to SKUs in fct_profit_and_loss, not here.
{%- set categories = pnl_categories() %}
{%- set refunds = categories | selectattr('kind', 'equalto', 'refund') | map(attribute='category') | list %}
{%- set fees = categories | selectattr('kind', 'in', ['fee', 'unclassified']) | rejectattr('category', 'equalto', 'fee_tax')
    | map(attribute='category') | list %}
with

lines as (
    select * from {{ ref('int_finance_lines_classified') }} where sku is not null
),

grouped as (
    select
        posted_date_local as date_day,
        sku,
        currency_code,
        coalesce(-sum(amount) filter (where category in ({{ "'" ~ refunds | join("', '") ~ "'" }})), 0)
            ::numeric(14, 2) as refunds,
        coalesce(-sum(amount) filter (where category in ({{ "'" ~ fees | join("', '") ~ "'" }})), 0)
            ::numeric(14, 2) as amazon_fees
    from lines
    group by posted_date_local, sku, currency_code
)

select * from grouped
