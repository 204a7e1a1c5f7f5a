{#- A generic test: on every row the column equals the sum of its parts (a P&L line is the sum of the lines
    above it). Rows returned are those that do not add up. -#}
{% test columns_add_up_to(model, column_name, parts) %}
select *
from {{ model }}
where {{ column_name }} <> {{ parts | join(' + ') }}
{% endtest %}
