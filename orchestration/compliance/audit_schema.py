"""The `audit` schema: what the compliance officer reads, written only by the duties that must write it.

The schema and the access log are created by the database administrator when the warehouse is provisioned
(they are owned by the admin role, so no pipeline code can drop or rewrite them); the pipeline role may only
append to the access log. Pure DDL strings, so provisioning code can use them without importing Dagster.
"""

from __future__ import annotations

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
