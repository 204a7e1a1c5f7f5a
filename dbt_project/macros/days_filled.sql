{#- The date spine: a row for every calendar day of each group, from the group's first day with sales to the last
    day of data (of any group), with the day's totals or zeros, so rolling windows and day-offset comparisons
    count calendar days. Written once here; int_sales_days_filled (per SKU and currency) and
    int_store_days_filled (per currency) call it.

    daily:      a relation or CTE name with one row per (order_date, *keys) and the columns of `measures`
    keys:       the group's columns, e.g. ['sku', 'currency_code']
    measures:   (column, SQL type) pairs, filled with 0 on days without a row
    first_days: optionally, a CTE of (*keys, first_day) for groups that started before `daily` begins (an
                incremental mart's window: macros/incremental_window.sql); other groups start at their first day
    prefix:     prefixed to the CTE names, so that one model can fill two spines

    Emits the CTEs bounds, last_day, spine and filled (prefixed); the model selects from filled. -#}
{% macro days_filled(daily, keys, measures, first_days=none, prefix='') -%}
{{ prefix }}bounds as (
    {%- if first_days %}
    select {{ keys | join(', ') }}, first_day from {{ first_days }}
    union all
    {%- endif %}
    select {{ keys | join(', ') }}, min(order_date) as first_day
    from {{ daily }} as daily
    {%- if first_days %}
    where not exists (
        select 1 from {{ first_days }} as started
        where {% for key in keys %}started.{{ key }} = daily.{{ key }}{{ ' and ' if not loop.last }}{% endfor %}
    )
    {%- endif %}
    group by {{ keys | join(', ') }}
),

{{ prefix }}last_day as (
    select max(order_date) as last_day from {{ daily }}
),

{{ prefix }}spine as (
    select
        {%- for key in keys %}
        bounds.{{ key }},
        {%- endfor %}
        day::date as date_day
    from {{ prefix }}bounds as bounds
    cross join {{ prefix }}last_day as last_day
    cross join lateral generate_series(bounds.first_day, last_day.last_day, interval '1 day') as day
),

{{ prefix }}filled as (
    select
        spine.date_day,
        {%- for key in keys %}
        spine.{{ key }},
        {%- endfor %}
        {%- for column, sql_type in measures %}
        coalesce(daily.{{ column }}, 0)::{{ sql_type }} as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ prefix }}spine as spine
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
