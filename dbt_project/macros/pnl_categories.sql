{#- The P&L categories of the fee taxonomy (dbt_project/seeds/fee_taxonomy.csv maps every spelling of Amazon's
    money to one of them), each with its P&L column and whether it is profit. Sales lines of the Finances
    transactions are not profit in fct_profit_and_loss: sales are counted when ordered, from the orders
    report (Seller Central's ordered product sales); the shipped money is shown beside them. Taxes and VAT on
    fees are not the seller's money (collected for, or reclaimed from, the authorities; sales are net of VAT
    too) and reserves and transfers only move the balance. `kind` groups categories for the settlement
    reconciliation (sales, fee (VAT on fees included, as Amazon charges it), refund, credit, tax, balance).
    `allocate`: money of the category that names no SKU is shared out to SKUs (fct_profit_and_loss):
    `stock` = by units in stock, `sales` = by ordered product sales; `storage_report`: by the volume the
    storage-fee report gives each SKU for the month billed, where that report is loaded (before `allocate`). -#}
{% macro pnl_categories() %}
    {% do return([
        {'category': 'product_sales', 'kind': 'sales', 'column': 'shipped_product_sales', 'profit': false, 'allocate': none},
        {'category': 'shipping_credits', 'kind': 'sales', 'column': 'shipped_shipping_credits', 'profit': false, 'allocate': none},
        {'category': 'gift_wrap_credits', 'kind': 'sales', 'column': 'shipped_gift_wrap_credits', 'profit': false, 'allocate': none},
        {'category': 'promotions', 'kind': 'sales', 'column': 'shipped_promotions', 'profit': false, 'allocate': none},
        {'category': 'refunds', 'kind': 'refund', 'column': 'refunds', 'profit': true, 'allocate': 'sales'},
        {'category': 'referral', 'kind': 'fee', 'column': 'referral_fees', 'profit': true, 'allocate': 'sales'},
        {'category': 'fulfilment', 'kind': 'fee', 'column': 'fulfilment_fees', 'profit': true, 'allocate': 'sales'},
        {'category': 'storage', 'kind': 'fee', 'column': 'storage_fees', 'profit': true, 'allocate': 'stock', 'storage_report': true},
        {'category': 'aged_storage', 'kind': 'fee', 'column': 'aged_storage_fees', 'profit': true, 'allocate': 'stock'},
        {'category': 'inbound', 'kind': 'fee', 'column': 'inbound_fees', 'profit': true, 'allocate': 'stock'},
        {'category': 'removal_disposal', 'kind': 'fee', 'column': 'removal_disposal_fees', 'profit': true, 'allocate': 'stock'},
        {'category': 'advertising', 'kind': 'fee', 'column': 'advertising', 'profit': true, 'allocate': 'sales'},
        {'category': 'subscription', 'kind': 'fee', 'column': 'subscription', 'profit': true, 'allocate': 'sales'},
        {'category': 'coupons_deals', 'kind': 'fee', 'column': 'coupons_deals', 'profit': true, 'allocate': 'sales'},
        {'category': 'chargebacks_claims', 'kind': 'refund', 'column': 'chargebacks_claims', 'profit': true, 'allocate': 'sales'},
        {'category': 'reimbursements', 'kind': 'credit', 'column': 'reimbursements', 'profit': true, 'allocate': 'sales'},
        {'category': 'other', 'kind': 'fee', 'column': 'other_fees', 'profit': true, 'allocate': 'sales'},
        {'category': 'unclassified', 'kind': 'unclassified', 'column': 'unclassified', 'profit': true, 'allocate': none},
        {'category': 'tax_collected', 'kind': 'tax', 'column': 'tax_collected', 'profit': false, 'allocate': none},
        {'category': 'marketplace_withheld_tax', 'kind': 'tax', 'column': 'marketplace_withheld_tax', 'profit': false, 'allocate': none},
        {'category': 'fee_tax', 'kind': 'fee', 'column': 'vat_on_fees', 'profit': false, 'allocate': none},
        {'category': 'reserves_transfers', 'kind': 'balance', 'column': 'reserves_transfers', 'profit': false, 'allocate': none},
    ]) %}
{% endmacro %}

{#- A generic test: every value of the column is a category of pnl_categories(). -#}
{% test is_pnl_category(model, column_name) %}
select {{ column_name }} from {{ model }}
where {{ column_name }} not in (
    {%- for c in pnl_categories() if c.category != 'unclassified' %}'{{ c.category }}'{{ ',' if not loop.last }}{% endfor -%}
)
{% endtest %}
