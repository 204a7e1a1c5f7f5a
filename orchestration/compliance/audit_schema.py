"""The `audit` schema: what the compliance officer reads, written only by the duties that must write it.

The schema, the access log and the retention records are created by the database administrator when the
warehouse is provisioned (they are owned by the admin role, so no pipeline code can drop or rewrite them); the
pipeline role reads them and appends to them only through the SECURITY DEFINER functions below (no INSERT,
UPDATE, DELETE or TRUNCATE of its own), and rows leave them only through `audit.prune_audit_logs`, which keeps
at least Amazon's 12 months. Pure DDL strings, so provisioning code can use them without importing Dagster.
The erasure tables follow the same rule (orchestration/retain/certificate.py).
"""

from __future__ import annotations

from orchestration.retain.policy import LOG_MIN_RETENTION_MONTHS

AUDIT_SCHEMA = "audit"
ACCESS_LOG_TABLE = "access_log"

ACCESS_LOG_DDL = """
create table if not exists audit.access_log (
    run_id          text primary key,
    job_name        text not null,
    tenant_id       text check (tenant_id ~ '^t[0-9a-f]{12}$'),
    partition_key   text,
    assets          text[] not null default '{}',
    data_categories text[] not null default '{}',
    db_role         text not null,
    vault_duty      text not null,
    status          text not null,
    started_at      timestamptz,
    ended_at        timestamptz,
    recorded_at     timestamptz not null default now()
)
"""

ACCESS_LOG_INDEX_DDL = "create index if not exists access_log_window on audit.access_log (started_at, ended_at)"

# What the daily age-based removal took away (orchestration/retain/age.py): one row per tenant, dataset and
# removal, written in the same transaction that deletes the rows. Append only for the pipeline, like the
# access log; pruned with it (prune_audit_logs below).
RETENTION_REMOVALS_TABLE = "retention_removals"
RETENTION_REMOVALS_DDL = """
create table if not exists audit.retention_removals (
    removal_id          bigint generated always as identity primary key,
    tenant_id           text not null check (tenant_id ~ '^t[0-9a-f]{12}$'),
    dataset             text not null,
    first_day           date not null,     -- the oldest partition day removed
    last_day            date not null,     -- the newest partition day removed
    oldest_day_kept     date not null,     -- the cutoff: every day before it is gone
    cap_months          integer not null,
    cap_source          text not null,     -- catalogue, or the setting that lowered the cap
    legal_basis         text,              -- the statute when the cap is above Amazon's 18 months
    rows_removed        bigint not null,   -- raw rows
    quarantine_rows_removed bigint not null,
    documents_removed   integer not null,  -- landing-zone documents (encrypted originals)
    dagster_partitions  integer not null,  -- asset partitions recorded as removed in Dagster
    marts_dropped       text[] not null default '{}',  -- incremental marts rebuilt in full on their next build
    run_id              text not null,
    removed_at          timestamptz not null default now()
)
"""
RETENTION_REMOVALS_INDEX_DDL = (
    "create index if not exists retention_removals_by_tenant on audit.retention_removals (tenant_id, dataset)"
)


def prune_audit_logs_ddl(floor_months: int) -> str:
    """The administrator's function that prunes the access log and the retention records.

    SECURITY DEFINER because the pipeline may only append to these logs; the function is the one way rows
    leave them, and it refuses to keep less than `floor_months` (Amazon's log floor, from retain/policy.py),
    whatever the caller asks. A row's age is its end (access log: when the run ended, or was recorded).
    """
    return f"""
create or replace function audit.prune_audit_logs(keep_months integer)
returns table (log text, rows_pruned bigint)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $fn$
declare
    cutoff timestamptz;
begin
    if keep_months is null or keep_months < {int(floor_months)} then
        raise exception 'logs are kept at least {int(floor_months)} months; refused to prune at % months',
            keep_months using errcode = 'invalid_parameter_value';
    end if;
    cutoff := now() - make_interval(months => keep_months);
    delete from audit.access_log a where coalesce(a.ended_at, a.started_at, a.recorded_at) < cutoff;
    get diagnostics rows_pruned = row_count;
    log := 'access_log';
    return next;
    delete from audit.retention_removals r where r.removed_at < cutoff;
    get diagnostics rows_pruned = row_count;
    log := 'retention_removals';
    return next;
end
$fn$
"""  # noqa: S608 - an integer constant is the only value put in


# The compliance officer must see how old the oldest data held is without reading seller data: this
# administrator's function returns, per tenant raw and quarantine table, only the oldest partition day
# (`_partition`, a date string; the raw tables are indexed on it). EXECUTE is granted to compliance.
OLDEST_DAYS_HELD_DDL = """
create or replace function audit.oldest_days_held()
returns table (tenant_id text, layer text, dataset text, oldest_day text)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $fn$
declare
    t record;
begin
    for t in
        select n.nspname as schema_name, c.relname as table_name
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname ~ '^t[0-9a-f]{12}_(raw|quarantine)$' and c.relkind in ('r', 'p')
          and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = '_partition'
                      and not a.attisdropped)
        order by 1, 2
    loop
        tenant_id := split_part(t.schema_name, '_', 1);
        layer := split_part(t.schema_name, '_', 2);
        dataset := t.table_name;
        execute format('select min(_partition) from %I.%I', t.schema_name, t.table_name) into oldest_day;
        if oldest_day is not null then
            return next;
        end if;
    end loop;
end
$fn$
"""

# The compliance officer must see that every connection to the warehouse is TLS 1.2 or later, and where its files
# are (the report checks that file system), without the privileges that would show other sessions' queries: this
# administrator's function returns settings and counts only. EXECUTE is granted to compliance.
CONNECTION_SECURITY_DDL = """
create or replace function audit.connection_security()
returns table (ssl text, ssl_min_protocol_version text, data_directory text, tcp_connections bigint,
               tcp_without_tls bigint, below_tls12 bigint, socket_connections bigint, tls_versions text[])
language sql security definer set search_path = pg_catalog, pg_temp as $fn$
    select current_setting('ssl'), current_setting('ssl_min_protocol_version'), current_setting('data_directory'),
           count(*) filter (where a.client_addr is not null),
           count(*) filter (where a.client_addr is not null and not coalesce(s.ssl, false)),
           count(*) filter (where s.ssl and s.version not in ('TLSv1.2', 'TLSv1.3')),
           count(*) filter (where a.client_addr is null),
           coalesce(array_agg(distinct s.version order by s.version) filter (where s.ssl), '{}')
    from pg_stat_activity a left join pg_stat_ssl s on s.pid = a.pid
    where a.backend_type = 'client backend'
$fn$
"""
COMPLIANCE_FUNCTIONS = ("audit.oldest_days_held()", "audit.connection_security()")

# An age-based removal under way (orchestration/retain/age.py): its plan, recorded before anything is removed, so a
# re-run after a crash records what the first attempt found. Written only through the functions below.
RETENTION_PROGRESS_TABLE = "retention_progress"
RETENTION_PROGRESS_DDL = """
create table if not exists audit.retention_progress (
    tenant_id   text not null check (tenant_id ~ '^t[0-9a-f]{12}$'),
    dataset     text not null,
    plan        jsonb not null,     -- what was older than the cap before anything was removed
    run_ids     text[] not null default '{}',
    started_at  timestamptz not null default now(),
    primary key (tenant_id, dataset)
)
"""

# The pipeline's only ways to write these logs: each is one exact transition. A run's access entry is written
# once (a run already logged keeps its entry); a removal's plan once; an attempt appends its run id and nothing
# else; the removal record closes its plan (the plan row goes with it, and only then).
APPEND_FUNCTIONS_DDL = (
    """
create or replace function audit.record_access(
    logged_run_id text, job text, for_tenant text, run_partition text, touched_assets text[], categories text[],
    as_db_role text, as_vault_duty text, run_status text, began_at timestamptz, ended timestamptz)
returns bigint
language sql security definer set search_path = pg_catalog, pg_temp as $fn$
    with written as (
        insert into audit.access_log (run_id, job_name, tenant_id, partition_key, assets, data_categories, db_role,
                                      vault_duty, status, started_at, ended_at)
        values (logged_run_id, job, for_tenant, run_partition, touched_assets, categories, as_db_role, as_vault_duty,
                run_status, began_at, ended)
        on conflict (run_id) do nothing returning 1)
    select count(*) from written
$fn$
""",
    """
create or replace function audit.start_retention_removal(for_tenant text, of_dataset text, removal_plan jsonb)
returns void
language sql security definer set search_path = pg_catalog, pg_temp as $fn$
    insert into audit.retention_progress (tenant_id, dataset, plan) values (for_tenant, of_dataset, removal_plan)
    on conflict (tenant_id, dataset) do nothing
$fn$
""",
    """
create or replace function audit.record_retention_attempt(for_tenant text, of_dataset text, attempt_run_id text)
returns jsonb
language sql security definer set search_path = pg_catalog, pg_temp as $fn$
    update audit.retention_progress p set run_ids = array_append(p.run_ids, attempt_run_id)
    where p.tenant_id = for_tenant and p.dataset = of_dataset
    returning p.plan
$fn$
""",
    """
create or replace function audit.record_retention_removal(
    for_tenant text, of_dataset text, first_removed date, last_removed date, oldest_kept date, cap integer,
    cap_from text, basis text, raw_rows bigint, quarantine_rows bigint, documents integer, partitions integer,
    dropped_marts text[], removal_run_id text)
returns bigint
language sql security definer set search_path = pg_catalog, pg_temp as $fn$
    delete from audit.retention_progress p where p.tenant_id = for_tenant and p.dataset = of_dataset;
    insert into audit.retention_removals (tenant_id, dataset, first_day, last_day, oldest_day_kept, cap_months,
        cap_source, legal_basis, rows_removed, quarantine_rows_removed, documents_removed, dagster_partitions,
        marts_dropped, run_id)
    values (for_tenant, of_dataset, first_removed, last_removed, oldest_kept, cap, cap_from, basis, raw_rows,
            quarantine_rows, documents, partitions, dropped_marts, removal_run_id)
    returning removal_id
$fn$
""",
)
APPEND_FUNCTIONS = (
    "audit.record_access(text, text, text, text, text[], text[], text, text, text, timestamptz, timestamptz)",
    "audit.start_retention_removal(text, text, jsonb)",
    "audit.record_retention_attempt(text, text, text)",
    "audit.record_retention_removal(text, text, date, date, date, integer, text, text, bigint, bigint, integer,"
    " integer, text[], text)",
)
AUDIT_LOG_TABLES = (ACCESS_LOG_TABLE, RETENTION_REMOVALS_TABLE, RETENTION_PROGRESS_TABLE)

# Provisioning runs these after ACCESS_LOG_DDL, as the administrator (grants: INSERT for the pipeline, EXECUTE
# of the prune function for the pipeline, of oldest_days_held for compliance, SELECT for compliance with the
# rest of the schema).
RETENTION_AUDIT_DDL = (RETENTION_REMOVALS_DDL, RETENTION_REMOVALS_INDEX_DDL, RETENTION_PROGRESS_DDL,
                       prune_audit_logs_ddl(LOG_MIN_RETENTION_MONTHS), OLDEST_DAYS_HELD_DDL, CONNECTION_SECURITY_DDL,
                       *APPEND_FUNCTIONS_DDL)
