{#- Each tenant's models live in that tenant's own schemas: <tenant>_staging, <tenant>_marts.
    The tenant id is pseudonymous and validated by the pipeline before it reaches dbt. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set tenant = env_var('RETKEE_TENANT_ID', 'tenant_template') -%}
    {%- if custom_schema_name is none -%}
        {{ tenant }}
    {%- else -%}
        {{ tenant }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
