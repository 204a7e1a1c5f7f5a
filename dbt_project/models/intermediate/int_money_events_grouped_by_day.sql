-- What money events did to each SKU per posted day and currency: refunds given back to buyers and Amazon's
-- fees, both as positive amounts the seller bears. Taxes are not the seller's money and are left out.
with

lines as (
    select * from {{ ref('stg_amazon__financial_events') }}
),

grouped as (
    select
        posted_day as date_day,
        sku,
        currency_code,
        -- a refund takes back the principal (and shipping, gift wrap) but also returns the promotion given
        coalesce(-sum(amount) filter (
            where event_type = 'Refund'
                and (line_kind = 'Promotion'
                    or (line_kind = 'Charge' and amount_type not in ('Tax', 'ShippingTax', 'GiftWrapTax')))
        ), 0)::numeric(14, 2) as refunds,
        coalesce(-sum(amount) filter (where line_kind = 'Fee'), 0)::numeric(14, 2) as amazon_fees
    from lines
    group by posted_day, sku, currency_code
)

select * from grouped
