{#- A generic test: within each group (a transaction), the lines add up to the group's total exactly, and the
    group states one total. Rows returned are the groups that do not balance. -#}
{% test lines_sum_to_total(model, group_by, amount, total) %}
select {{ group_by | join(', ') }}, sum({{ amount }}) as lines_sum, min({{ total }}) as stated_total
from {{ model }}
group by {{ group_by | join(', ') }}
having sum({{ amount }}) <> min({{ total }}) or min({{ total }}) <> max({{ total }})
    or count({{ total }}) <> count(*)
{% endtest %}
