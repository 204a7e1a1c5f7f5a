-- FBA reimbursements (and their reversals) per approval, from the reimbursements report. amount_total is
-- signed from the seller's side (a reversal is negative), as the Finances reimbursement lines are.
with

source as (
    select * from {{ source('raw', 'reimbursements') }}
),

renamed as (
    select
        -- ids
        reimbursement_id,
        case_id,
        marketplace_id,
        sku,
        fnsku,
        asin,
        original_reimbursement_id,
        -- what and when
        reason,
        original_reimbursement_type,
        approval_date,
        {{ marketplace_local_date('approval_date', 'marketplace_id') }} as approval_date_local,
        -- amounts and units
        currency as currency_code,
        coalesce(amount_per_unit, 0) as amount_per_unit,
        coalesce(amount_total, 0) as amount_total,
        coalesce(quantity_reimbursed_cash, 0) as quantity_reimbursed_cash,
        coalesce(quantity_reimbursed_inventory, 0) as quantity_reimbursed_inventory,
        coalesce(quantity_reimbursed_total, 0) as quantity_reimbursed_total,
        -- lineage
        _partition,
        _loaded_at
    from source
)

select * from renamed
