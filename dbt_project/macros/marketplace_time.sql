{#- The marketplace's local date of a timestamp: the day Seller Central shows the event on (US reports run
    midnight to midnight Pacific, docs/amazon/spapi-money.md section 5). PostgreSQL's zone rules handle
    daylight saving time. The zones come from the marketplace catalogue (macros/marketplace_catalogue.sql,
    generated from orchestration/extract/marketplaces.py). -#}
{% macro marketplace_local_date(timestamp_column, marketplace_id_column) -%}
    (({{ timestamp_column }}) at time zone {{ marketplace_time_zone(marketplace_id_column) }})::date
{%- endmacro %}
