{#- The rebuild window of the incremental marts (fct_fees, fct_margins, fct_profit_and_loss, fct_sales_trends):
    a daily build replaces every row from the window's first day on and leaves older rows as they are, so its
    cost follows the days that can have changed, not the seller's history.

    The first day is the first of the month of the earliest of:
    - the mart's newest day less `restatement_lookback_days` (dbt_project.yml, the one home of that length):
      Amazon posts and restates money after the fact (the Finances extraction asks its last 14 days again
      every day) and restates sales and traffic within 72 hours, and a re-pull that finds a transaction gone
      leaves no row behind to say so;
    - the earliest day any input row touches that was loaded since the mart's last build (`source_loaded_at`,
      the newest load the last build saw): a backfill of old days, a unit cost valid from long ago;
    - each input's own rule (`since`), for inputs whose rows reach other days (a stock snapshot is the
      nearest one for postings up to the previous snapshot; a storage-fee month is billed the month after).
    The month start: money that names no SKU is shared out by the whole posting month's sales.

    A reporting currency other than the one the mart holds rebuilds it whole (the whole table converts).

    How it runs: the model's body calls `create_incremental_window` when dbt compiles it, on the connection that
    then runs the build; that writes the window into a temporary table of the session, before anything is
    deleted. The model reads it (`window_first_day()`), and the strategy `replace_window` deletes the table's
    rows from that day on and inserts the model's. One evaluation, so the delete and the insert cannot
    disagree. A full refresh (or a first build) does none of this: the model reads everything.
    -#}

{#- The temporary table holding this build's window. -#}
{% macro incremental_window_table() -%}
    pg_temp.{{ this.identifier }}__window
{%- endmacro %}

{#- The first day to rebuild (a date; -infinity rebuilds everything), as a literal read from the window's table
    when the model is compiled: PostgreSQL does not push a condition holding a subquery into a view that groups
    (int_order_items_grouped_by_day, int_money_events_grouped_by_day), so a literal is what lets a window's
    condition reach the raw rows. -#}
{% macro window_first_day() -%}
    {%- if execute -%}
    {%- set found = run_query('select first_day::text from ' ~ incremental_window_table()) -%}
    date '{{ found.columns[0].values()[0] }}'
    {%- else -%}
    (select first_day from {{ incremental_window_table() }})
    {%- endif -%}
{%- endmacro %}

{#- The first `_partition` (a UTC day, 'YYYY-MM-DD') whose rows can fall on the window's local days (less
    `days_before`): a local day starts at most a day before its UTC day, so the partition index narrows the scan. -#}
{% macro window_first_partition(days_before=0) -%}
    {%- if execute -%}
    {%- set found = run_query("select case when first_day = '-infinity' then '' else to_char(first_day - "
        ~ days_before ~ " - 1, 'YYYY-MM-DD') end from " ~ incremental_window_table()) -%}
    '{{ found.columns[0].values()[0] }}'
    {%- else -%}
    (select case when first_day = '-infinity' then '' else to_char(first_day - {{ days_before }} - 1, 'YYYY-MM-DD') end
        from {{ incremental_window_table() }})
    {%- endif -%}
{%- endmacro %}

{#- The newest load among the inputs a build read: every row it writes carries it (`source_loaded_at`), so
    the next build knows which rows are new. `inputs`: dicts with `relation` and `loaded_at` (a column). -#}
{% macro inputs_loaded_at(inputs) -%}
    {%- if is_incremental() -%}
    (select loaded_at from {{ incremental_window_table() }})
    {%- else -%}
    greatest(
        {%- for input in inputs %}
        (select max({{ input.loaded_at }}) from {{ input.relation }}){{ ',' if not loop.last }}
        {%- endfor %}
    )
    {%- endif -%}
{%- endmacro %}

{#- Writes this build's window into its temporary table (an incremental build only; called from the model's
    body, on the connection that then runs the build). `day_column`: the mart's day; `inputs`: dicts with
    `relation`, `loaded_at` (a column) and `day` (the input's column or SQL giving the mart day a row
    touches), and optionally `since` (SQL: the first mart day that new rows of the input can change, given
    the last build's load time as `built.loaded_at`; instead of `day`). -#}
{% macro create_incremental_window(day_column, inputs) -%}
    {%- if execute and is_incremental() -%}
    {%- set lookback = var('restatement_lookback_days') | int -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {#- A table built before it was incremental has no watermark: it is rebuilt whole, once. -#}
    {%- set has_watermark = 'source_loaded_at' in columns -%}
    {%- set statement -%}
    drop table if exists {{ incremental_window_table() }};
    create temporary table {{ incremental_window_table() }} as
    with

    built as (
        select
            max({{ day_column }}) as last_day,
            {{ 'max(source_loaded_at)' if has_watermark else 'null::timestamptz' }} as loaded_at,
            {{ 'false' if has_watermark else 'true' }} as unmarked
        from {{ this }}
    ),

    currency_changed as (
        {%- if 'reporting_currency' in columns %}
        select coalesce((select reporting_currency from {{ this }} limit 1) <> {{ reporting_currency() }}, false)
            as changed
        {%- else %}
        select false as changed
        {%- endif %}
    ),

    earliest as (
        select
            case
                when (select changed from currency_changed) or built.unmarked or built.last_day is null
                    then date '-infinity'
                else least(
                    built.last_day - {{ lookback }},
                    {%- for input in inputs %}
                    {%- if input.since is defined %}
                    ({{ input.since }}){{ ',' if not loop.last }}
                    {%- else %}
                    (select min({{ input.day }}) from {{ input.relation }}
                        where {{ input.loaded_at }} > coalesce(built.loaded_at, '-infinity')){{ ',' if not loop.last }}
                    {%- endif %}
                    {%- endfor %}
                )
            end as first_day
        from built
    ),

    first_day as (
        select case when first_day = '-infinity' then first_day else date_trunc('month', first_day)::date end
            as first_day
        from earliest
    )

    select
        first_day,
        {{ inputs_loaded_at_now(inputs) }} as loaded_at
    from first_day
    {%- endset -%}
    {%- do run_query(statement) -%}
    {%- endif -%}
{%- endmacro %}

{#- The newest load among the inputs, read in the same statement as the window (so the two agree). -#}
{% macro inputs_loaded_at_now(inputs) -%}
    greatest(
        {%- for input in inputs %}
        (select max({{ input.loaded_at }}) from {{ input.relation }}){{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{#- The strategy: delete the mart's rows from the window's first day on (the model's config `window_column`),
    then insert the model's rows, which start there. -#}
{% macro get_incremental_replace_window_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }} where {{ config.require('window_column') }} >= {{ window_first_day() }};
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }}
{%- endmacro %}

{#- The condition a model puts on an input to read only the window: its day column, and where the input keeps
    its raw `_partition` (a UTC day), the partition too (an index the scan can use). True on a full build. -#}
{% macro in_window(day_column, partition_column=none, days_before=0) -%}
    {%- if is_incremental() -%}
    {{ day_column }} >= {{ window_first_day() }} - {{ days_before }}
    {%- if partition_column %}
    and {{ partition_column }} >= {{ window_first_partition(days_before) }}
    {%- endif -%}
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}

{#- dbt's hook for a data test's model (its `where` config): a test of an incremental mart checks the rows the
    mart's latest build wrote (its newest `source_loaded_at`), not every row again; after a full refresh that is
    every row. The rows before the window were checked by the build that wrote them. -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- if config.get('where') -%}
        {%- do conditions.append(config.get('where')) -%}
    {%- endif -%}
    {%- if execute and relation.identifier in incremental_marts() -%}
        {#- a literal, so that each of a test's reads is one filtered scan -#}
        {%- set newest = run_query('select max(source_loaded_at)::text from ' ~ relation).columns[0].values()[0] -%}
        {%- do conditions.append("source_loaded_at = timestamptz '" ~ newest ~ "'" if newest
            else 'source_loaded_at is null') -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') as dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- The marts that replace a window (strategy replace_window), by table name. -#}
{% macro incremental_marts() -%}
    {%- set names = [] -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.config.get('incremental_strategy') == 'replace_window' -%}
            {%- do names.append(node.alias) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do return(names) -%}
{%- endmacro %}
