{#- GENERATED from orchestration/extract/marketplaces.py: do not edit by hand. Regenerate with
    `python -m orchestration.extract.marketplaces > dbt_project/macros/marketplace_catalogue.sql`;
    tests/unit/test_marketplaces.py fails when this file and the catalogue differ. -#}

{#- The IANA time zone whose midnight starts the marketplace's day (UTC for an unknown marketplace). -#}
{% macro marketplace_time_zone(marketplace_id_column) -%}
    case {{ marketplace_id_column }}
        when 'ATVPDKIKX0DER' then 'America/Los_Angeles'
        when 'A2EUQ1WTGCTBG2' then 'America/Los_Angeles'
        when 'A1AM78C64UM0Y8' then 'America/Los_Angeles'
        when 'A2Q3Y263D00KWC' then 'America/Sao_Paulo'
        when 'A1F83G8C2ARO7P' then 'Europe/London'
        when 'A28R8C7NBKEWEA' then 'Europe/Dublin'
        when 'A1PA6795UKMFR9' then 'Europe/Berlin'
        when 'A13V1IB3VIYZZH' then 'Europe/Paris'
        when 'APJ6JRA9NG5V4' then 'Europe/Rome'
        when 'A1RKKUPIHCS9HS' then 'Europe/Madrid'
        when 'A1805IZSGTT6HS' then 'Europe/Amsterdam'
        when 'AMEN7PMS3EDWL' then 'Europe/Brussels'
        when 'A2NODRKZP88ZB9' then 'Europe/Stockholm'
        when 'A1C3SOZRARQ6R3' then 'Europe/Warsaw'
        when 'A33AVAJ2PDY3EV' then 'Europe/Istanbul'
        when 'A2VIGQ35RCS4UG' then 'Asia/Dubai'
        when 'A17E79C6D8DWNP' then 'Asia/Riyadh'
        when 'ARBP9OOSHTCHU' then 'Africa/Cairo'
        when 'AE08WJ6YKNBMC' then 'Africa/Johannesburg'
        when 'A21TJRUUN4KGV' then 'Asia/Kolkata'
        when 'A1VC38T7YXB528' then 'Asia/Tokyo'
        when 'A39IBJ37TRP1C6' then 'Australia/Sydney'
        when 'A19VAU5U5O7RUS' then 'Asia/Singapore'
        else 'UTC'
    end
{%- endmacro %}

{#- The marketplace's id from the orders report's sales channel (`Amazon.de`); null for other channels. -#}
{% macro marketplace_of_sales_channel(sales_channel_column) -%}
    case {{ sales_channel_column }}
        when 'Amazon.com' then 'ATVPDKIKX0DER'
        when 'Amazon.ca' then 'A2EUQ1WTGCTBG2'
        when 'Amazon.com.mx' then 'A1AM78C64UM0Y8'
        when 'Amazon.com.br' then 'A2Q3Y263D00KWC'
        when 'Amazon.co.uk' then 'A1F83G8C2ARO7P'
        when 'Amazon.ie' then 'A28R8C7NBKEWEA'
        when 'Amazon.de' then 'A1PA6795UKMFR9'
        when 'Amazon.fr' then 'A13V1IB3VIYZZH'
        when 'Amazon.it' then 'APJ6JRA9NG5V4'
        when 'Amazon.es' then 'A1RKKUPIHCS9HS'
        when 'Amazon.nl' then 'A1805IZSGTT6HS'
        when 'Amazon.com.be' then 'AMEN7PMS3EDWL'
        when 'Amazon.se' then 'A2NODRKZP88ZB9'
        when 'Amazon.pl' then 'A1C3SOZRARQ6R3'
        when 'Amazon.com.tr' then 'A33AVAJ2PDY3EV'
        when 'Amazon.ae' then 'A2VIGQ35RCS4UG'
        when 'Amazon.sa' then 'A17E79C6D8DWNP'
        when 'Amazon.eg' then 'ARBP9OOSHTCHU'
        when 'Amazon.co.za' then 'AE08WJ6YKNBMC'
        when 'Amazon.in' then 'A21TJRUUN4KGV'
        when 'Amazon.co.jp' then 'A1VC38T7YXB528'
        when 'Amazon.com.au' then 'A39IBJ37TRP1C6'
        when 'Amazon.sg' then 'A19VAU5U5O7RUS'
        else null
    end
{%- endmacro %}

{#- Whether the marketplace's item prices include the tax (EU and UK VAT), so item-tax is part of
    item-price; false where tax is added on top (North American sales tax) or the marketplace is unknown. -#}
{% macro marketplace_price_includes_tax(marketplace_id_column) -%}
    case {{ marketplace_id_column }}
        when 'ATVPDKIKX0DER' then false
        when 'A2EUQ1WTGCTBG2' then false
        when 'A1AM78C64UM0Y8' then false
        when 'A2Q3Y263D00KWC' then false
        when 'A1F83G8C2ARO7P' then true
        when 'A28R8C7NBKEWEA' then true
        when 'A1PA6795UKMFR9' then true
        when 'A13V1IB3VIYZZH' then true
        when 'APJ6JRA9NG5V4' then true
        when 'A1RKKUPIHCS9HS' then true
        when 'A1805IZSGTT6HS' then true
        when 'AMEN7PMS3EDWL' then true
        when 'A2NODRKZP88ZB9' then true
        when 'A1C3SOZRARQ6R3' then true
        when 'A33AVAJ2PDY3EV' then false
        when 'A2VIGQ35RCS4UG' then false
        when 'A17E79C6D8DWNP' then false
        when 'ARBP9OOSHTCHU' then false
        when 'AE08WJ6YKNBMC' then false
        when 'A21TJRUUN4KGV' then false
        when 'A1VC38T7YXB528' then false
        when 'A39IBJ37TRP1C6' then false
        when 'A19VAU5U5O7RUS' then false
        else false
    end
{%- endmacro %}
