{#- The currency a tenant's converted amounts are reported in: the tenant's setting (`retkee tenants settings`,
    orchestration/tenants/settings.py), handed to its build as the dbt var reporting_currency; default USD. -#}
{% macro reporting_currency() -%}
    '{{ var("reporting_currency", "USD") }}'
{%- endmacro %}
