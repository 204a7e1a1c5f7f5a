{#- Amazon's fee names grouped into the fee types sellers reason about. -#}
{% macro fee_type(amount_type) -%}
    case
        when {{ amount_type }} = 'Commission' then 'commission'
        when {{ amount_type }} in ('FBAPerUnitFulfillmentFee', 'FBAPerOrderFulfillmentFee', 'FBAWeightBasedFee')
            then 'fba_fulfilment'
        when {{ amount_type }} in ('VariableClosingFee', 'FixedClosingFee') then 'closing'
        when {{ amount_type }} in ('FBAStorageFee', 'FBALongTermStorageFee', 'StorageFee') then 'storage'
        when {{ amount_type }} = 'RefundCommission' then 'refund_commission'
        else 'other'
    end
{%- endmacro %}
