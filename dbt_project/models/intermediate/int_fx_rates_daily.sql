-- The exchange rate for every calendar day and pair of currencies: amount in from_currency x rate = amount in
-- to_currency, crossed through the euro (ECB reference rates are per 1 EUR).
-- A day the ECB published nothing (a weekend, a TARGET holiday) takes the rate of the last publication
-- before it, as the ECB's rates are meant to be used, and says so: rate_date is the publication used.
-- A currency the ECB left N/A on that publication, and every business day after the last imported publication,
-- has no rate: rate is null and rate_missing is true, never another publication's rate.
-- Days run from the first imported publication to today (var fx_rates_until overrides today, for tests).
{%- set until = var('fx_rates_until', none) %}
with

rates as (
    select * from {{ ref('stg_reference__fx_rates') }}
),

publications as (
    select distinct rate_date from rates
),

bounds as (
    select min(rate_date) as first_day, max(rate_date) as last_published from publications
),

days as (
    select
        day::date as date_day,
        bounds.last_published
    from bounds
    cross join lateral generate_series(
        bounds.first_day, greatest(bounds.last_published, {{ "date '" ~ until ~ "'" if until else 'current_date' }}), interval '1 day'
    ) as day
),

latest_publication as (
    select
        days.date_day,
        days.last_published,
        max(publications.rate_date) over (
            order by days.date_day rows between unbounded preceding and current row
        ) as rate_date
    from days
    left join publications on publications.rate_date = days.date_day
),

-- Inside the imported range every gap is a day without publication; after it, only the weekend that follows
-- a Friday's publication is (the ECB had nothing to publish yet); any later day waits for the next import.
days_published as (
    select
        date_day,
        case
            when date_day <= last_published then rate_date
            when extract(isodow from date_day) in (6, 7) and date_day - rate_date <= 2 then rate_date
        end as rate_date
    from latest_publication
),

currencies as (
    select distinct currency_code from rates
    union
    select 'EUR'
),

per_euro as (
    select
        days_published.date_day,
        days_published.rate_date,
        currencies.currency_code,
        case when currencies.currency_code = 'EUR' then 1 else rates.rate_per_eur end as per_eur
    from days_published
    cross join currencies
    left join rates
        on rates.rate_date = days_published.rate_date
        and rates.currency_code = currencies.currency_code
),

pairs as (
    select
        from_side.date_day,
        from_side.currency_code as from_currency,
        to_side.currency_code as to_currency,
        case
            when from_side.currency_code = to_side.currency_code then 1::numeric
            when from_side.rate_date is null then null
            else round(to_side.per_eur / nullif(from_side.per_eur, 0), 10)
        end as rate,
        from_side.rate_date
    from per_euro as from_side
    inner join per_euro as to_side on to_side.date_day = from_side.date_day
)

select
    date_day,
    from_currency,
    to_currency,
    rate::numeric(24, 10) as rate,
    rate_date,
    rate is null as rate_missing
from pairs
