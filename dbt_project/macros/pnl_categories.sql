{#- The P&L categories of the fee taxonomy: one home, the var `pnl_categories` in dbt_project.yml (YAML, so the
    seller page reads the same list: orchestration/serve/seller_page.py). -#}
{% macro pnl_categories() %}
    {% do return(var('pnl_categories')) %}
{% endmacro %}

{#- A generic test: every value of the column is a category of pnl_categories(). -#}
{% test is_pnl_category(model, column_name) %}
select {{ column_name }} from {{ model }}
where {{ column_name }} not in (
    {%- for c in pnl_categories() if c.category != 'unclassified' %}'{{ c.category }}'{{ ',' if not loop.last }}{% endfor -%}
)
{% endtest %}
