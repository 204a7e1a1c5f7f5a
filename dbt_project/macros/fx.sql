{#- The currency a tenant's converted amounts are reported in (dbt var reporting_currency, default USD: there is
    no per-tenant settings store yet, so every tenant reports in the var's currency). -#}
{% macro reporting_currency() -%}
    '{{ var("reporting_currency", "USD") }}'
{%- endmacro %}
