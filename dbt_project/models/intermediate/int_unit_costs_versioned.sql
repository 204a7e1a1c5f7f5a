-- The unit cost of each SKU and currency over time: one row per version, valid over [valid_from, valid_to)
-- (valid_to null = still valid). When several imports give a cost for the same SKU, currency and start day,
-- the latest import wins; older imports stay in the raw table as history.
with

costs as (
    select * from {{ ref('stg_seller__unit_costs') }}
),

latest_import as (
    select distinct on (sku, currency_code, valid_from)
        sku,
        currency_code,
        valid_from,
        unit_cost,
        import_id,
        imported_at
    from costs
    order by sku, currency_code, valid_from, imported_at desc, import_id desc, line_number desc
),

versioned as (
    select
        sku,
        currency_code,
        unit_cost,
        valid_from,
        lead(valid_from) over (partition by sku, currency_code order by valid_from) as valid_to,
        import_id,
        -- when the version was imported: an incremental mart rebuilds from valid_from after a new import
        imported_at
    from latest_import
)

select * from versioned
