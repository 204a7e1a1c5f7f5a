-- The seller's profit and loss per marketplace, local day, UTC day and SKU, in the marketplace's currency.
--
-- Days: date_day is the marketplace's local day (Seller Central's: US Pacific etc.), utc_day the UTC day; a
-- row is one (local day, UTC day) pair, so either can be summed. Sales are counted when ordered (orders
-- report, purchase time), as Seller Central's ordered product sales; every other amount when Amazon posted it
-- (Finances 2024-06-19 transactions), by the category the fee taxonomy seed gives it (macros/pnl_categories.sql).
--
-- Signs are the seller's: positive = the seller is paid, negative = the seller pays (fees, refunds, cost of
-- goods). net_profit is the sum of the profit columns: net sales (VAT excluded, promotions deducted) + every
-- profit category + cost of goods. Shipped sales, taxes, VAT on fees and reserve movements are shown, not
-- counted (see macros/pnl_categories.sql for why).
--
-- Money that names no SKU (storage billed to the account, the subscription, an ads invoice) is allocated to
-- SKUs: storage by each SKU's share of the volume the storage-fee report gives for the month billed (the
-- month before the posting's local month; estimated_total_item_volume summed over the SKU's fulfilment
-- centres, FNSKUs mapped to SKUs through the inventory snapshots); storage without that report and the
-- other storage-like categories (aged storage, inbound, removal) by each SKU's share of the units in stock
-- at the FBA inventory snapshot nearest to the posting day, in the marketplace; every other category, and
-- storage when no stock is known, by each SKU's share of ordered product sales in the marketplace and
-- currency during the posting's local calendar month. Allocations are rounded to the cent; the rounding
-- difference and whatever has no base (no sales that month, no stock) stay on the marketplace's UNALLOCATED
-- row (sku null, is_unallocated true), as do unclassified money and the money that is not profit. So for
-- every marketplace, currency and day, the sum over SKUs and the UNALLOCATED row is the account total, to the
-- cent (a data test asserts it).
--
-- Reporting currency: net sales and net profit are also given in the tenant's reporting currency
-- (reporting_currency(), macros/fx.sql) at the day's ECB rate (int_fx_rates_daily); null where the rate is
-- missing (rate_missing), never another day's rate.
--
-- Incremental (dbt_project.yml): a daily build replaces the days of its window (macros/incremental_window.sql):
-- the restatement lookback, any older day whose orders or money were loaded, or whose unit cost was imported,
-- since the last build, the postings a new stock snapshot may be the nearest one for (those after the
-- marketplace's previous snapshot), and the month a new storage-fee report month is billed in. The window starts
-- on a month's first day, so the month's sales that share out its money are all in it. An exchange-rate import
-- for days before the window, or a change to the fee taxonomy, needs a full refresh (docs/operations.md).
{%- set stock_since %}
    select min(coalesce(previous.snapshot_day, date '-infinity'))
    from (
        select marketplace_id, min(snapshot_day) as first_new
        from {{ ref('stg_amazon__inventory_summaries') }}
        where _loaded_at > coalesce(built.loaded_at, '-infinity')
        group by marketplace_id
    ) as new_snapshots
    left join lateral (
        select max(s.snapshot_day) as snapshot_day
        from {{ ref('stg_amazon__inventory_summaries') }} as s
        where s.marketplace_id = new_snapshots.marketplace_id and s.snapshot_day < new_snapshots.first_new
    ) as previous on true
{%- endset %}
{%- set storage_since %}
    select (min(charge_month) + interval '1 month')::date
    from {{ ref('stg_amazon__storage_fees') }}
    where _loaded_at > coalesce(built.loaded_at, '-infinity')
{%- endset %}
{%- set inputs = [
    {'relation': ref('stg_amazon__orders'), 'loaded_at': '_loaded_at', 'day': 'order_date'},
    {'relation': ref('int_finance_lines_classified'), 'loaded_at': '_loaded_at', 'day': 'posted_date_local'},
    {'relation': ref('int_unit_costs_versioned'), 'loaded_at': 'imported_at', 'day': 'valid_from'},
    {'relation': ref('stg_amazon__inventory_summaries'), 'loaded_at': '_loaded_at', 'since': stock_since},
    {'relation': ref('stg_amazon__storage_fees'), 'loaded_at': '_loaded_at', 'since': storage_since},
] %}
{{- create_incremental_window('date_day', inputs) }}
{%- set categories = pnl_categories() %}
{%- set allocated = categories | selectattr('allocate') | list %}
{%- set by_stock = allocated | selectattr('allocate', 'equalto', 'stock') | map(attribute='category') | list %}
{%- set by_volume = allocated | selectattr('storage_report') | map(attribute='category') | list %}

with

order_items as (
    select * from {{ ref('stg_amazon__orders') }}
    where {{ in_window('order_date', '_partition') }}
),

money_lines as (
    select * from {{ ref('int_finance_lines_classified') }}
    where {{ in_window('posted_date_local', '_partition') }}
),

costs as (
    select * from {{ ref('int_unit_costs_versioned') }}
),

fx as (
    select * from {{ ref('int_fx_rates_daily') }} where to_currency = {{ reporting_currency() }}
),

stock as (
    -- the last snapshot of each local day per marketplace and SKU
    select distinct on (marketplace_id, snapshot_day, sku)
        marketplace_id,
        snapshot_day,
        sku,
        total_quantity
    from {{ ref('stg_amazon__inventory_summaries') }}
    order by marketplace_id, snapshot_day, sku, snapshot_at desc
),

fnsku_skus as (
    -- the storage-fee report names FNSKUs; the inventory snapshots say which SKU each is
    select distinct on (marketplace_id, fnsku)
        marketplace_id,
        fnsku,
        sku
    from {{ ref('stg_amazon__inventory_summaries') }}
    where fnsku is not null
    order by marketplace_id, fnsku, snapshot_at desc
),

storage_volume as (
    -- the storage-fee report's volume per SKU and month stored
    select
        r.marketplace_id,
        r.currency_code,
        r.charge_month,
        f.sku,
        sum(r.estimated_total_item_volume) as volume
    from {{ ref('stg_amazon__storage_fees') }} as r
    inner join fnsku_skus as f on f.marketplace_id = r.marketplace_id and f.fnsku = r.fnsku
    group by r.marketplace_id, r.currency_code, r.charge_month, f.sku
),

-- sales, when ordered ------------------------------------------------------------------------------------

sales as (
    select
        marketplace_id,
        currency_code,
        order_date as date_day,
        order_date_utc as utc_day,
        sku,
        coalesce(sum(quantity) filter (where not is_cancelled), 0) as units,
        sum(ordered_product_sales) as ordered_product_sales,
        -- so that ordered product sales + shipping and gift wrap + promotions + VAT included = net sales
        coalesce(sum(coalesce(shipping_price, 0) + coalesce(gift_wrap_price, 0)) filter (where not is_cancelled), 0)
            as shipping_gift_wrap,
        coalesce(-sum(item_promotion_discount + ship_promotion_discount) filter (where not is_cancelled), 0)
            as promotions,
        -sum(tax_included) as vat_included,
        sum(net_sales) as net_sales
    from order_items
    group by marketplace_id, currency_code, order_date, order_date_utc, sku
),

-- money, when posted ---------------------------------------------------------------------------------------

money as (
    select
        marketplace_id,
        currency_code,
        posted_date_local as date_day,
        posted_day as utc_day,
        sku,
        category,
        sum(amount) as amount
    from money_lines
    group by marketplace_id, currency_code, posted_date_local, posted_day, sku, category
),

unattributed as (
    select
        *,
        row_number() over (order by marketplace_id, currency_code, date_day, utc_day, category) as money_id
    from money
    where sku is null
        and category in ({% for c in allocated %}'{{ c.category }}'{{ ',' if not loop.last }}{% endfor %})
),

-- allocation bases -----------------------------------------------------------------------------------------

volume_weights as (
    -- storage of month M is billed in M + 1: the report of the month before the posting's
    select
        u.money_id,
        v.sku,
        v.volume::numeric as weight
    from unattributed as u
    inner join storage_volume as v
        on v.marketplace_id = u.marketplace_id
        and v.currency_code = u.currency_code
        and v.charge_month = (date_trunc('month', u.date_day) - interval '1 month')::date
    where u.category in ({% for c in by_volume %}'{{ c }}'{{ ',' if not loop.last }}{% endfor %})
        and v.volume > 0
),

nearest_stock_day as (
    select distinct on (u.money_id)
        u.money_id,
        s.snapshot_day
    from unattributed as u
    inner join stock as s on s.marketplace_id = u.marketplace_id
    where u.category in ({% for c in by_stock %}'{{ c }}'{{ ',' if not loop.last }}{% endfor %})
        and not exists (select 1 from volume_weights as vw where vw.money_id = u.money_id)
    order by u.money_id, abs(s.snapshot_day - u.date_day), s.snapshot_day
),

stock_weights as (
    select
        n.money_id,
        s.sku,
        s.total_quantity::numeric as weight
    from nearest_stock_day as n
    inner join unattributed as u on u.money_id = n.money_id
    inner join stock as s
        on s.marketplace_id = u.marketplace_id
        and s.snapshot_day = n.snapshot_day
    where s.total_quantity > 0
),

monthly_sales as (
    select
        marketplace_id,
        currency_code,
        date_trunc('month', date_day)::date as sales_month,
        sku,
        sum(ordered_product_sales) as weight
    from sales
    group by marketplace_id, currency_code, date_trunc('month', date_day)::date, sku
    having sum(ordered_product_sales) > 0
),

sales_weights as (
    select
        u.money_id,
        m.sku,
        m.weight
    from unattributed as u
    inner join monthly_sales as m
        on m.marketplace_id = u.marketplace_id
        and m.currency_code = u.currency_code
        and m.sales_month = date_trunc('month', u.date_day)::date
    where not exists (select 1 from stock_weights as sw where sw.money_id = u.money_id)
        and not exists (select 1 from volume_weights as vw where vw.money_id = u.money_id)
),

weights as (
    select *, 'volume' as basis from volume_weights
    union all
    select *, 'stock' as basis from stock_weights
    union all
    select *, 'sales' as basis from sales_weights
),

allocations as (
    select
        u.marketplace_id,
        u.currency_code,
        u.date_day,
        u.utc_day,
        w.sku,
        u.category,
        round(u.amount * w.weight / sum(w.weight) over (partition by w.money_id), 2) as amount,
        u.money_id
    from weights as w
    inner join unattributed as u on u.money_id = w.money_id
),

-- what allocation leaves on the UNALLOCATED row: the rounding and the money without a base
left_over as (
    select
        u.marketplace_id,
        u.currency_code,
        u.date_day,
        u.utc_day,
        null::text as sku,
        u.category,
        u.amount - coalesce(sum(a.amount), 0) as amount
    from unattributed as u
    left join allocations as a on a.money_id = u.money_id
    group by u.money_id, u.marketplace_id, u.currency_code, u.date_day, u.utc_day, u.category, u.amount
),

money_by_sku as (
    -- money that names its SKU, and money that stays with the account (not allocated by category)
    select marketplace_id, currency_code, date_day, utc_day, sku, category, amount, 0 as allocated
    from money
    where not (sku is null
        and category in ({% for c in allocated %}'{{ c.category }}'{{ ',' if not loop.last }}{% endfor %}))
    union all
    select marketplace_id, currency_code, date_day, utc_day, sku, category, amount, amount as allocated
    from allocations
    union all
    select marketplace_id, currency_code, date_day, utc_day, sku, category, amount, 0 as allocated
    from left_over
),

money_pivoted as (
    select
        marketplace_id,
        currency_code,
        date_day,
        utc_day,
        sku,
        {%- for c in categories %}
        coalesce(sum(amount) filter (where category = '{{ c.category }}'), 0) as {{ c.column }},
        {%- endfor %}
        sum(allocated) as allocated_amount
    from money_by_sku
    group by marketplace_id, currency_code, date_day, utc_day, sku
),

-- one row per marketplace, currency, day pair and SKU -----------------------------------------------------

combined as (
    select
        coalesce(s.marketplace_id, m.marketplace_id) as marketplace_id,
        coalesce(s.currency_code, m.currency_code) as currency_code,
        coalesce(s.date_day, m.date_day) as date_day,
        coalesce(s.utc_day, m.utc_day) as utc_day,
        coalesce(s.sku, m.sku) as sku,
        coalesce(s.units, 0) as units,
        coalesce(s.ordered_product_sales, 0) as ordered_product_sales,
        coalesce(s.shipping_gift_wrap, 0) as shipping_gift_wrap,
        coalesce(s.promotions, 0) as promotions,
        coalesce(s.vat_included, 0) as vat_included,
        coalesce(s.net_sales, 0) as net_sales,
        {%- for c in categories %}
        coalesce(m.{{ c.column }}, 0) as {{ c.column }},
        {%- endfor %}
        coalesce(m.allocated_amount, 0) as allocated_amount
    from sales as s
    full outer join money_pivoted as m
        on m.marketplace_id is not distinct from s.marketplace_id
        and m.currency_code = s.currency_code
        and m.date_day = s.date_day
        and m.utc_day = s.utc_day
        and m.sku = s.sku
),

costed as (
    select
        combined.*,
        costs.unit_cost,
        case when combined.units = 0 then 0 else -round(combined.units * costs.unit_cost, 2) end as cost_of_goods
    from combined
    left join costs
        on costs.sku = combined.sku
        and costs.currency_code = combined.currency_code
        and combined.date_day >= costs.valid_from
        and (costs.valid_to is null or combined.date_day < costs.valid_to)
),

profit as (
    select
        *,
        net_sales
        {%- for c in categories if c.profit %}
        + {{ c.column }}
        {%- endfor %}
        + coalesce(cost_of_goods, 0) as net_profit
    from costed
),

converted as (
    select
        profit.*,
        fx.rate as fx_rate
    from profit
    left join fx on fx.date_day = profit.date_day and fx.from_currency = profit.currency_code
),

final as (
    select
        -- grain
        marketplace_id,
        date_day,
        utc_day,
        sku,
        sku is null as is_unallocated,
        currency_code,
        -- sales, when ordered
        units::bigint as units,
        ordered_product_sales::numeric(16, 2) as ordered_product_sales,
        shipping_gift_wrap::numeric(16, 2) as shipping_gift_wrap,
        promotions::numeric(16, 2) as promotions,
        vat_included::numeric(16, 2) as vat_included,
        net_sales::numeric(16, 2) as net_sales,
        -- money, when posted, by category
        {%- for c in categories %}
        {{ c.column }}::numeric(16, 2) as {{ c.column }},
        {%- endfor %}
        allocated_amount::numeric(16, 2) as allocated_amount,
        -- cost and result
        unit_cost::numeric(14, 4) as unit_cost,
        cost_of_goods::numeric(16, 2) as cost_of_goods,
        net_profit::numeric(16, 2) as net_profit,
        case when net_sales > 0 then round(100 * net_profit / net_sales, 2) end::numeric(10, 2) as margin_pct,
        case when cost_of_goods < 0 then round(100 * net_profit / -cost_of_goods, 2) end::numeric(10, 2) as roi_pct,
        -- in the reporting currency
        {{ reporting_currency() }}::text as reporting_currency,
        fx_rate::numeric(18, 8) as fx_rate,
        round(net_sales * fx_rate, 2)::numeric(16, 2) as net_sales_reporting,
        round(net_profit * fx_rate, 2)::numeric(16, 2) as net_profit_reporting,
        -- lineage
        {{ inputs_loaded_at(inputs) }}::timestamptz as source_loaded_at
    from converted
)

select * from final
