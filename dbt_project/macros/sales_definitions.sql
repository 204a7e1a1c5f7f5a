{#- What an order item sold for, as Seller Central and a VAT-registered seller count it. Each definition is
    written once, here; stg_amazon__orders applies them per order item and every model sums those columns.
    Amounts are line totals of the orders report (item-price is the price of all units of the line). -#}

{#- Ordered product sales (Seller Central, docs/amazon/spapi-money.md section 5): item price x units ordered,
    i.e. the line's item-price, for items not cancelled. Shipping, gift wrap and promotions are not in it; in EU
    and UK marketplaces it includes VAT, as the buyer's price does. -#}
{% macro ordered_product_sales(item_price, is_cancelled) -%}
    case when {{ is_cancelled }} then 0 else {{ item_price }} end
{%- endmacro %}

{#- What the buyer paid the seller for the item: item price less item promotions, plus shipping less shipping
    promotions, plus gift wrap. Taxes added on top (NA sales tax) are not in it; VAT inside EU prices is. -#}
{% macro gross_sales(item_price, item_promotion_discount, shipping_price, ship_promotion_discount,
                     gift_wrap_price, is_cancelled) -%}
    case when {{ is_cancelled }} then 0 else
        {{ item_price }} - {{ item_promotion_discount }} + {{ shipping_price }} - {{ ship_promotion_discount }}
        + {{ gift_wrap_price }}
    end
{%- endmacro %}

{#- The tax that is inside the prices of gross_sales (EU and UK VAT: the orders report's item-tax,
    shipping-tax and gift-wrap-tax, docs/amazon/spapi-money.md section 6); zero where tax is added on top. -#}
{% macro tax_included_in_sales(item_tax, shipping_tax, gift_wrap_tax, marketplace_id, is_cancelled) -%}
    case when not ({{ is_cancelled }}) and {{ marketplace_price_includes_tax(marketplace_id) }}
        then {{ item_tax }} + {{ shipping_tax }} + {{ gift_wrap_tax }}
        else 0
    end
{%- endmacro %}
