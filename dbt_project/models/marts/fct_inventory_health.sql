-- FBA stock per day, marketplace and SKU (the last inventory snapshot of the marketplace's local day) against
-- how fast the SKU sells in that same marketplace:
-- - units_sold_28d: units ordered (not cancelled) in the marketplace over the 28 local days ending on the
--   snapshot day;
-- - sales_days_28d: how much of that window the loaded orders cover, in days (orders are extracted by UTC
--   day, so a local day at the edge of the extracted range counts for the hours it covers); a snapshot
--   taken after the last extracted day, or a seller with less than 28 days of history, still gets a
--   velocity from the days there are;
-- - daily_velocity_28d = units_sold_28d / sales_days_28d; days_of_cover = fulfillable / velocity;
-- - restock_quantity: units to send so that stock and inbound last the lead time (the tenant's setting,
--   orchestration/tenants/settings.py, as the dbt var restock_lead_time_days; default 30) at this velocity;
--   stock_out_risk when cover is shorter than the lead time (stock runs out before a shipment sent today
--   arrives).
-- Returns and reimbursements of the same 28 local days: units_returned_28d (customer returns report) and
-- units_reimbursed_28d (reimbursements report, reversals subtract).
-- Aged inventory, from what is extracted (the inventory-planning report with its age buckets is not):
-- - aged_units_surcharged / aged_surcharge_month: the units Amazon charged the aged-inventory surcharge for,
--   in the latest month charged by the snapshot day (Finances, FBALongTermStorageFee, per SKU);
-- - units_received_90d: units received over the 90 UTC days ending on the snapshot day (inventory ledger);
--   ledger_days_90d: how many of those days the loaded ledger holds;
-- - units_over_90_days: stock first in, first out: the units on hand (fulfillable + reserved) beyond what
--   arrived in the last 90 days are older than 90 days; null until the ledger covers the 90 days.
{%- set lead_time_days = var('restock_lead_time_days', 30) | int %}
with

snapshots as (
    select distinct on (snapshot_day, marketplace_id, sku)
        snapshot_day as date_day,
        marketplace_id,
        sku,
        fulfillable,
        reserved,
        inbound_working,
        inbound_shipped,
        inbound_receiving
    from {{ ref('stg_amazon__inventory_summaries') }}
    order by snapshot_day, marketplace_id, sku, snapshot_at desc
),

order_items as (
    select * from {{ ref('stg_amazon__orders') }}
),

customer_returns as (
    select * from {{ ref('stg_amazon__customer_returns') }}
),

reimbursements as (
    select * from {{ ref('stg_amazon__reimbursements') }}
),

ledger as (
    select * from {{ ref('stg_amazon__inventory_ledger') }}
),

aged_surcharges as (
    -- one quantity per transaction and SKU (the item's Base and Tax lines repeat it)
    select
        marketplace_id,
        sku,
        posted_date_local,
        transaction_id,
        max(quantity) as quantity
    from {{ ref('int_finance_lines_classified') }}
    where category = 'aged_storage' and sku is not null
    group by marketplace_id, sku, posted_date_local, transaction_id
),

sales as (
    select
        marketplace_id,
        sku,
        order_date,
        coalesce(sum(quantity) filter (where not is_cancelled), 0) as units
    from order_items
    group by marketplace_id, sku, order_date
),

-- The span of time the loaded orders cover, per marketplace: from the first extracted UTC day's midnight to
-- the end of the last one.
extracted as (
    select
        marketplace_id,
        (min(_partition)::date)::timestamp at time zone 'UTC' as covered_from,
        ((max(_partition)::date + 1)::timestamp) at time zone 'UTC' as covered_to
    from order_items
    where marketplace_id is not null
    group by marketplace_id
),

windows as (
    select
        snapshots.*,
        (snapshots.date_day - 27)::timestamp at time zone {{ marketplace_time_zone('snapshots.marketplace_id') }}
            as window_from,
        (snapshots.date_day + 1)::timestamp at time zone {{ marketplace_time_zone('snapshots.marketplace_id') }}
            as window_to
    from snapshots
),

velocity as (
    select
        windows.*,
        coalesce((
            select sum(sales.units)
            from sales
            where sales.marketplace_id = windows.marketplace_id
                and sales.sku = windows.sku
                and sales.order_date between windows.date_day - 27 and windows.date_day
        ), 0) as units_sold_28d,
        round(greatest(extract(epoch from
            least(windows.window_to, extracted.covered_to) - greatest(windows.window_from, extracted.covered_from)
        ), 0) / 86400.0, 4) as sales_days_28d
    from windows
    left join extracted on extracted.marketplace_id = windows.marketplace_id
),

rated as (
    select
        velocity.*,
        case when sales_days_28d > 0 then round(units_sold_28d / sales_days_28d, 4) end as daily_velocity_28d
    from velocity
),

aged as (
    select
        rated.*,
        coalesce((
            select sum(r.quantity)
            from customer_returns as r
            where r.marketplace_id = rated.marketplace_id
                and r.sku = rated.sku
                and r.return_date_local between rated.date_day - 27 and rated.date_day
        ), 0) as units_returned_28d,
        coalesce((
            select sum(r.quantity_reimbursed_total)
            from reimbursements as r
            where r.marketplace_id = rated.marketplace_id
                and r.sku = rated.sku
                and r.approval_date_local between rated.date_day - 27 and rated.date_day
        ), 0) as units_reimbursed_28d,
        surcharge.aged_surcharge_month,
        surcharge.aged_units_surcharged,
        coalesce(received.units_received_90d, 0) as units_received_90d,
        coalesce(received.ledger_days_90d, 0) as ledger_days_90d
    from rated
    left join lateral (
        -- the latest surcharge posted by the snapshot day: the month before its posting month
        select
            (date_trunc('month', a.posted_date_local) - interval '1 month')::date as aged_surcharge_month,
            sum(a.quantity) as aged_units_surcharged
        from aged_surcharges as a
        where a.marketplace_id = rated.marketplace_id
            and a.sku = rated.sku
            and a.posted_date_local <= rated.date_day
        group by date_trunc('month', a.posted_date_local)
        order by date_trunc('month', a.posted_date_local) desc
        limit 1
    ) as surcharge on true
    left join lateral (
        select
            sum(l.receipts) as units_received_90d,
            count(distinct l.ledger_day) as ledger_days_90d
        from ledger as l
        where l.marketplace_id = rated.marketplace_id
            and l.sku = rated.sku
            and l.disposition = 'SELLABLE'
            and l.ledger_day between rated.date_day - 89 and rated.date_day
    ) as received on true
),

final as (
    select
        date_day,
        marketplace_id,
        sku,
        fulfillable::bigint as fulfillable,
        reserved::bigint as reserved,
        inbound_working::bigint as inbound_working,
        inbound_shipped::bigint as inbound_shipped,
        inbound_receiving::bigint as inbound_receiving,
        units_sold_28d::bigint as units_sold_28d,
        coalesce(sales_days_28d, 0)::numeric(8, 4) as sales_days_28d,
        daily_velocity_28d::numeric(12, 4) as daily_velocity_28d,
        {{ days_of_cover('fulfillable', 'daily_velocity_28d') }}::numeric(12, 1) as days_of_cover,
        {{ lead_time_days }}::integer as lead_time_days,
        (case when daily_velocity_28d is not null then greatest(
            0,
            ceil(daily_velocity_28d * {{ lead_time_days }})
                - (fulfillable + inbound_working + inbound_shipped + inbound_receiving)
        ) end)::bigint as restock_quantity,
        fulfillable = 0 as out_of_stock,
        coalesce({{ days_of_cover('fulfillable', 'daily_velocity_28d') }} < {{ lead_time_days }}, false)
            as stock_out_risk,
        -- returns and reimbursements
        units_returned_28d::bigint as units_returned_28d,
        units_reimbursed_28d::bigint as units_reimbursed_28d,
        -- aged inventory
        aged_surcharge_month::date as aged_surcharge_month,
        aged_units_surcharged::bigint as aged_units_surcharged,
        units_received_90d::bigint as units_received_90d,
        ledger_days_90d::integer as ledger_days_90d,
        (case when ledger_days_90d >= 90
            then greatest(0, fulfillable + reserved - units_received_90d) end)::bigint as units_over_90_days
    from aged
)

select * from final
