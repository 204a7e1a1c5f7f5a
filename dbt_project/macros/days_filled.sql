{#- The date spine: a row for every calendar day of each group, from the group's first day with sales to the last
    day of data (of any group), with the day's totals or zeros, so rolling windows and day-offset comparisons
    count calendar days. Written once here; int_sales_days_filled (per SKU and currency) and
    int_store_days_filled (per currency) call it.

    daily:    a relation or CTE name with one row per (order_date, *keys) and the columns of `measures`
    keys:     the group's columns, e.g. ['sku', 'currency_code']
    measures: (column, SQL type) pairs, filled with 0 on days without a row

    Emits the CTEs bounds, last_day, spine and filled; the model selects from filled. -#}
{% macro days_filled(daily, keys, measures) -%}
bounds as (
    select {{ keys | join(', ') }}, min(order_date) as first_day
    from {{ daily }}
    group by {{ keys | join(', ') }}
),

last_day as (
    select max(order_date) as last_day from {{ daily }}
),

spine as (
    select
        {%- for key in keys %}
        bounds.{{ key }},
        {%- endfor %}
        day::date as date_day
    from bounds
    cross join last_day
    cross join lateral generate_series(bounds.first_day, last_day.last_day, interval '1 day') as day
),

filled as (
    select
        spine.date_day,
        {%- for key in keys %}
        spine.{{ key }},
        {%- endfor %}
        {%- for column, sql_type in measures %}
        coalesce(daily.{{ column }}, 0)::{{ sql_type }} as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from spine
    left join {{ daily }} as daily
        on daily.order_date = spine.date_day
        {%- for key in keys %}
        and daily.{{ key }} = spine.{{ key }}
        {%- endfor %}
)
{%- endmacro %}

{#- The daily sales columns both spines carry, and their types. -#}
{% macro daily_sales_measures() -%}
    {{ return([
        ('units', 'bigint'),
        ('orders', 'bigint'),
        ('revenue', 'numeric(14, 2)'),
        ('ordered_product_sales', 'numeric(14, 2)'),
        ('net_sales', 'numeric(14, 2)'),
    ]) }}
{%- endmacro %}
