-- FBA stock per day, marketplace and SKU (the last inventory snapshot of each UTC day) against how fast it
-- sells: velocity is the average units ordered per day over the 28 days ending that day (all marketplaces of
-- the same currency), days of cover is fulfillable units / velocity, and a SKU is at risk of a stock-out
-- when its cover is under 14 days, or when it sells and nothing is fulfillable.
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

sales as (
    select * from {{ ref('int_sales_days_filled') }}
),

velocity as (
    select
        date_day,
        sku,
        sum(units) over (
            partition by sku, currency_code order by date_day rows between 27 preceding and current row
        ) as units_28d
    from sales
),

velocity_by_sku as (
    select date_day, sku, sum(units_28d) as units_28d from velocity group by date_day, sku
),

final as (
    select
        snapshots.date_day,
        snapshots.marketplace_id,
        snapshots.sku,
        snapshots.fulfillable::bigint as fulfillable,
        snapshots.reserved::bigint as reserved,
        snapshots.inbound_working::bigint as inbound_working,
        snapshots.inbound_shipped::bigint as inbound_shipped,
        snapshots.inbound_receiving::bigint as inbound_receiving,
        coalesce(velocity_by_sku.units_28d, 0)::bigint as units_sold_28d,
        round(coalesce(velocity_by_sku.units_28d, 0) / 28.0, 4)::numeric(12, 4) as daily_velocity_28d,
        {{ days_of_cover('snapshots.fulfillable', 'coalesce(velocity_by_sku.units_28d, 0) / 28.0') }}
            ::numeric(12, 1) as days_of_cover,
        coalesce(
            {{ days_of_cover('snapshots.fulfillable', 'coalesce(velocity_by_sku.units_28d, 0) / 28.0') }} < 14,
            false
        ) as stock_out_risk
    from snapshots
    left join velocity_by_sku
        on velocity_by_sku.sku = snapshots.sku and velocity_by_sku.date_day = snapshots.date_day
)

select * from final
