{#- A generic test on fct_profit_and_loss: per marketplace, currency and day pair and per category, the rows
    of every SKU plus the UNALLOCATED row add up to the money posted (the classified transaction lines), to
    the cent. Allocation may move money between SKUs, never lose or invent it. Rows returned are the
    (account, day, category) totals that differ. -#}
{% test keeps_every_posted_amount(model, lines) %}
{%- set categories = pnl_categories() %}
with

reported as (
    {%- for c in categories %}
    select marketplace_id, currency_code, date_day, utc_day, '{{ c.category }}' as category,
        sum({{ c.column }}) as amount
    from {{ model }}
    group by marketplace_id, currency_code, date_day, utc_day
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

posted as (
    -- the days the rows under test cover (an incremental mart's test checks its latest build's window)
    select marketplace_id, currency_code, posted_date_local as date_day, posted_day as utc_day, category,
        round(sum(amount), 2) as amount
    from {{ lines }}
    where posted_date_local >= (select min(date_day) from {{ model }})
    group by marketplace_id, currency_code, posted_date_local, posted_day, category
)

select
    coalesce(r.marketplace_id, p.marketplace_id) as marketplace_id,
    coalesce(r.currency_code, p.currency_code) as currency_code,
    coalesce(r.date_day, p.date_day) as date_day,
    coalesce(r.utc_day, p.utc_day) as utc_day,
    coalesce(r.category, p.category) as category,
    r.amount as reported,
    p.amount as posted
from reported as r
full outer join posted as p
    on p.marketplace_id is not distinct from r.marketplace_id
    and p.currency_code = r.currency_code
    and p.date_day = r.date_day
    and p.utc_day = r.utc_day
    and p.category = r.category
where coalesce(r.amount, 0) <> coalesce(p.amount, 0)
{% endtest %}
