{#- How many days the stock lasts at the given daily velocity; null when the SKU does not sell. -#}
{% macro days_of_cover(units_in_stock, daily_velocity) -%}
    case when ({{ daily_velocity }}) > 0 then round(({{ units_in_stock }}) / ({{ daily_velocity }}), 1) end
{%- endmacro %}
