"""Keeps the euro reference rates in the shared table `reference.fx_rates`, one row per publication day and
currency. Exchange rates are public reference data, not any seller's: one table serves every tenant, outside the
tenants' schemas (an erasure never touches it), and every role may read it (the tenants' dbt builds convert
with it). Only the pipeline writes it, through `retkee fx import`.

An import is one transaction: all of its rows or none. A day and currency already known takes the imported
value (the ECB's rates do not change once published, so importing the full history again is harmless).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import psycopg

from orchestration.warehouse.schemas import create_schema_if_missing

if TYPE_CHECKING:  # the parser (and its CSV reader) is the import's; the registry only needs the table's DDL
    from orchestration.fx.parse import FxRate

SCHEMA = "reference"
TABLE = "fx_rates"

REFERENCE_DDL = (
    # Made by provisioning (the pipeline has no CREATE on the database); here only where it is missing.
    create_schema_if_missing(SCHEMA),
    f"""
    create table if not exists {SCHEMA}.{TABLE} (
        rate_date     date not null,
        currency      text not null check (currency ~ '^[A-Z]{{3}}$' and currency <> 'EUR'),
        rate_per_eur  numeric(18,6) not null check (rate_per_eur > 0),
        _import_id    text not null,
        _imported_at  timestamptz not null default now(),
        _source_name  text,
        _line_number  integer,
        primary key (rate_date, currency)
    )
    """,
    # Public reference data: every role reads it, the tenants' owner roles (dbt) included.
    f"grant usage on schema {SCHEMA} to public",
    f"grant select on {SCHEMA}.{TABLE} to public",
)


@dataclass(frozen=True)
class FxImportResult:
    import_id: str
    rates: int
    days: int
    first_day: date
    last_day: date


def ensure_fx_rates_table(cur: psycopg.Cursor) -> None:
    """Create the reference schema and table if missing (as the pipeline; serialised like other first-use DDL)."""
    cur.execute("select pg_advisory_xact_lock(hashtext('retkee.reference.ddl'))")
    for statement in REFERENCE_DDL:
        cur.execute(statement)


def import_fx_rates(conn: psycopg.Connection, rates: list[FxRate], source_name: str | None = None) -> FxImportResult:
    """Write one validated file's rates atomically."""
    import_id = uuid.uuid4().hex
    with conn.transaction(), conn.cursor() as cur:
        ensure_fx_rates_table(cur)
        cur.executemany(
            f"""
            insert into {SCHEMA}.{TABLE} (rate_date, currency, rate_per_eur, _import_id, _source_name, _line_number)
            values (%s, %s, %s, %s, %s, %s)
            on conflict (rate_date, currency) do update set
                rate_per_eur = excluded.rate_per_eur, _import_id = excluded._import_id,
                _imported_at = excluded._imported_at, _source_name = excluded._source_name,
                _line_number = excluded._line_number
            """,  # noqa: S608 - module constants only
            [(r.rate_date, r.currency, r.rate_per_eur, import_id, source_name, r.line_number) for r in rates],
        )
    days = sorted({r.rate_date for r in rates})  # never empty: the parser refuses a file without rows
    return FxImportResult(import_id, len(rates), len(days), days[0], days[-1])
