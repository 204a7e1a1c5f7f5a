"""Writes one parsed partition into the tenant's raw schema: replace, never duplicate, in one transaction.

Every name that reaches SQL is either validated (tenant id) or comes from the dataset's own allowlist
and is quoted through psycopg's `sql` module; report content only ever travels as COPY data.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

import polars as pl
import psycopg
from psycopg import sql

from orchestration.load.datasets import Dataset
from orchestration.load.parse import ParsedDocument
from orchestration.warehouse.schemas import tenant_schema

PARTITION_COLUMN = "_partition"
LINEAGE_COLUMNS = (
    sql.SQL("_partition text not null"),
    sql.SQL("_report_id text"),
    sql.SQL("_loaded_at timestamptz not null default now()"),
)


@dataclass(frozen=True)
class LoadResult:
    rows: int
    quarantined: int
    duplicates_removed: int
    # The rows as loaded (duplicates removed), for the quality suite; None when Amazon had no document.
    frame: pl.DataFrame | None = field(default=None, repr=False, compare=False)


def ensure_tables(cur: psycopg.Cursor, tenant_id: str, dataset: Dataset) -> None:
    raw = tenant_schema(tenant_id, "raw")
    quarantine = tenant_schema(tenant_id, "quarantine")
    cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"ddl:{raw}.{dataset.name}",))
    for schema in (raw, quarantine):
        cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
    columns = [
        sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.sql_type)) for c in dataset.columns
    ]
    cur.execute(
        sql.SQL("create table if not exists {}.{} ({})").format(
            sql.Identifier(raw), sql.Identifier(dataset.name), sql.SQL(", ").join([*columns, *LINEAGE_COLUMNS])
        )
    )
    cur.execute(
        sql.SQL("create index if not exists {} on {}.{} (_partition)").format(
            sql.Identifier(f"{dataset.name}_partition_idx"), sql.Identifier(raw), sql.Identifier(dataset.name)
        )
    )
    cur.execute(
        sql.SQL(
            "create table if not exists {}.{} (_partition text not null, _report_id text, line_number bigint,"
            " reason text not null, fields jsonb, _loaded_at timestamptz not null default now())"
        ).format(sql.Identifier(quarantine), sql.Identifier(dataset.name))
    )


def _copy_frame(cur: psycopg.Cursor, target: sql.Composable, columns: list[str], frame: pl.DataFrame) -> None:
    buffer = io.BytesIO()
    frame.select(columns).write_csv(buffer, include_header=False, null_value="\\N", quote_style="necessary")
    statement = sql.SQL("copy {} ({}) from stdin with (format csv, null '\\N')").format(
        target, sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    with cur.copy(statement) as copy:
        copy.write(buffer.getvalue())


def replace_partition(
    conn: psycopg.Connection,
    tenant_id: str,
    dataset: Dataset,
    partition: str,
    parsed: ParsedDocument | None,
    report_id: str | None,
) -> LoadResult:
    """Replace the partition's rows with `parsed` (None = Amazon had no data: the partition is empty)."""
    raw = sql.Identifier(tenant_schema(tenant_id, "raw"))
    quarantine = sql.Identifier(tenant_schema(tenant_id, "quarantine"))
    table = sql.Identifier(dataset.name)
    rows = parsed.rows if parsed is not None else pl.DataFrame()
    before = rows.height
    if before:
        rows = rows.unique(maintain_order=True)  # a document that repeats a line (Amazon does) keeps one
    with conn.transaction(), conn.cursor() as cur:
        ensure_tables(cur, tenant_id, dataset)
        # Two runs of the same partition at once serialise here instead of interleaving delete + copy.
        cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"load:{tenant_id}:{dataset.name}:{partition}",))
        cur.execute(sql.SQL("delete from {}.{} where _partition = %s").format(raw, table), (partition,))
        cur.execute(sql.SQL("delete from {}.{} where _partition = %s").format(quarantine, table), (partition,))
        if rows.height:
            frame = rows.with_columns(
                pl.lit(partition).alias("_partition"), pl.lit(report_id, dtype=pl.Utf8).alias("_report_id")
            )
            _copy_frame(
                cur,
                sql.SQL("{}.{}").format(raw, table),
                [*(c.name for c in dataset.columns), "_partition", "_report_id"],
                frame,
            )
        quarantined = parsed.quarantine.height if parsed is not None else 0
        if quarantined:
            frame = parsed.quarantine.with_columns(
                pl.lit(partition).alias("_partition"), pl.lit(report_id, dtype=pl.Utf8).alias("_report_id")
            )
            _copy_frame(
                cur,
                sql.SQL("{}.{}").format(quarantine, table),
                ["_partition", "_report_id", "line_number", "reason", "fields"],
                frame,
            )
    return LoadResult(
        rows=rows.height,
        quarantined=quarantined,
        duplicates_removed=before - rows.height,
        frame=rows if parsed is not None else None,
    )


def day_partition(day: date) -> str:
    return day.isoformat()
