{#- Relative growth of `current` over `previous` as a fraction (0.25 = +25 %); null when there is nothing to
    compare with (no earlier value, or an earlier value of zero). -#}
{% macro growth(current, previous) -%}
    case when {{ previous }} > 0 then round(({{ current }} - {{ previous }}) / {{ previous }}::numeric, 4) end
{%- endmacro %}
