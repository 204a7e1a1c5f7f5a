-- One row per leaf breakdown amount of a Finances 2024-06-19 transaction, signed from the seller's side
-- (negative = the seller pays). posted_date_local is the marketplace's local day of the posting (the day Seller
-- Central shows it on); posted_day is its UTC day (the partition). A transaction's rows sum to its total.
with

source as (
    select * from {{ source('raw', 'finance_transactions') }}
),

renamed as (
    select
        -- ids
        transaction_id,
        transaction_line,
        item_number,
        marketplace_id,
        order_id as amazon_order_id,
        settlement_id,
        financial_event_group_id,
        deferred_transaction_id,
        release_transaction_id,
        sku,
        asin,
        -- classification
        transaction_type,
        transaction_status,
        description as transaction_description,
        breakdown_path,
        line_status,
        fulfillment_network,
        deferral_reason,
        -- amounts
        currency as currency_code,
        coalesce(amount, 0) as amount,
        quantity,
        transaction_total,
        transaction_currency,
        -- dates
        posted_date,
        {{ marketplace_local_date('posted_date', 'marketplace_id') }} as posted_date_local,
        (posted_date at time zone 'UTC')::date as posted_day,
        maturity_date,
        -- lineage
        _partition,
        _loaded_at
    from source
)

select * from renamed
