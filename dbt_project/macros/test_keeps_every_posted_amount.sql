{#- A generic test on fct_profit_and_loss: per marketplace, currency and day pair and per category, the rows
    of every SKU plus the UNALLOCATED row add up to the money posted (the classified transaction lines), to
    the cent. Allocation may move money between SKUs, never lose or invent it. Rows returned are the
    (account, day, category) totals that differ. -#}
{% test keeps_every_posted_amount(model, lines) %}
{%- set categories = pnl_categories() %}
{#- The days the rows under test cover: an incremental mart's test checks its latest build's rows (its
    window, macros/incremental_window.sql), so the lines are read from that day on, as literals (the lines'
    raw `_partition`, a UTC day, starts at most a day before a local day; its index and statistics narrow the
    scan). -#}
{%- set first_day = none %}
{%- if execute %}
    {%- set first_day = run_query('select min(date_day)::text from ' ~ model).columns[0].values()[0] %}
    {%- if first_day and first_day != '-infinity' %}
        {%- set first_day_partition = run_query("select to_char(date '" ~ first_day ~ "' - 1, 'YYYY-MM-DD')")
            .columns[0].values()[0] %}
    {%- else %}
        {%- set first_day = none %}
    {%- endif %}
{%- endif %}
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
    select marketplace_id, currency_code, posted_date_local as date_day, posted_day as utc_day, category,
        round(sum(amount), 2) as amount
    from {{ lines }}
    {%- if first_day %}
    where posted_date_local >= date '{{ first_day }}' and _partition >= '{{ first_day_partition }}'
    {%- endif %}
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
