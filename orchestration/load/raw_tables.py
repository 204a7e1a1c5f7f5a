"""Writes one parsed partition into the tenant's raw schema: replace, never duplicate, in one transaction.

Every name that reaches SQL is either validated (tenant id) or comes from the dataset's own allowlist
and is quoted through psycopg's `sql` module; report content only ever travels as COPY data.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from datetime import date

import polars as pl
import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from orchestration.load.datasets import Dataset
from orchestration.load.parse import ParsedDocument, fill_within_groups
from orchestration.warehouse.schemas import create_schema_if_missing, tenant_schema

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


def ensure_tables(cur: psycopg.Cursor, tenant_id: str, dataset: Dataset) -> None:
    raw = tenant_schema(tenant_id, "raw")
    quarantine = tenant_schema(tenant_id, "quarantine")
    cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"ddl:{raw}.{dataset.name}",))
    for schema in (raw, quarantine):
        cur.execute(create_schema_if_missing(schema))
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


RAW_LINEAGE = ["_partition", "_report_id"]
QUARANTINE_COLUMNS = ["_partition", "_report_id", "line_number", "reason", "fields"]
QUARANTINE_HELD_ROWS = 50_000  # quarantined rows held before they are written (they need their own COPY)


def _csv(frame: pl.DataFrame, columns: list[str]) -> bytes:
    buffer = io.BytesIO()
    frame.select(columns).write_csv(buffer, include_header=False, null_value="\\N", quote_style="necessary")
    return buffer.getvalue()


def _copy_statement(target: sql.Composable, columns: list[str]) -> sql.Composed:
    return sql.SQL("copy {} ({}) from stdin with (format csv, null '\\N')").format(
        target, sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )


class PartitionLoad:
    """Replaces one partition's rows, written a chunk at a time, in one transaction: replace, never duplicate.

        with PartitionLoad(conn, tenant_id, dataset, partition, report_id) as load:
            for parsed in chunks:
                load.add(parsed)
        load.result

    Entering deletes the partition (under a per-partition advisory lock, so two runs of one partition
    serialise instead of interleaving). The rows go into one COPY that stays open across chunks; a
    queued writer sends each chunk from a second thread while the next chunk is parsed, so parsing and
    PostgreSQL's own COPY work overlap. Memory holds a chunk or two. Quarantined rows are held (up to
    QUARANTINE_HELD_ROWS) and written after, since one connection runs one COPY at a time. A line Amazon
    repeats keeps one row, across chunks and documents too: a 128-bit digest of every row written is
    remembered. Datasets whose values are filled within a group (a settlement's currency
    sits on its summary row only) are held until the end, then filled and written. An exception rolls
    everything back: the partition keeps what it had.
    """

    def __init__(self, conn: psycopg.Connection, tenant_id: str, dataset: Dataset, partition: str,
                 report_id: str | None) -> None:
        self.conn, self.tenant_id, self.dataset, self.partition = conn, tenant_id, dataset, partition
        self.report_id = report_id
        self._raw = sql.SQL("{}.{}").format(sql.Identifier(tenant_schema(tenant_id, "raw")),
                                            sql.Identifier(dataset.name))
        self._quarantine = sql.SQL("{}.{}").format(sql.Identifier(tenant_schema(tenant_id, "quarantine")),
                                                   sql.Identifier(dataset.name))
        self._raw_columns = [*dataset.column_names, *RAW_LINEAGE]
        self._seen: dict[int, int] = {}  # first digest -> second digest of every row written
        self._held_rows: list[pl.DataFrame] = []
        self._held_quarantine: list[pl.DataFrame] = []
        self._rows = self._quarantined = self._duplicates = 0
        self._stack = contextlib.ExitStack()
        self._cursor: psycopg.Cursor | None = None
        self._copy = None  # the open COPY of the raw rows, if any
        self._copy_stack = contextlib.ExitStack()
        self.result: LoadResult | None = None

    def __enter__(self) -> PartitionLoad:
        with contextlib.ExitStack() as stack:
            stack.enter_context(self.conn.transaction())
            self._cursor = stack.enter_context(self.conn.cursor())
            ensure_tables(self._cursor, self.tenant_id, self.dataset)
            self._cursor.execute("select pg_advisory_xact_lock(hashtext(%s))",
                                 (f"load:{self.tenant_id}:{self.dataset.name}:{self.partition}",))
            for table in (self._raw, self._quarantine):
                self._cursor.execute(sql.SQL("delete from {} where _partition = %s").format(table), (self.partition,))
            self._stack = stack.pop_all()
        return self

    def add(self, parsed: ParsedDocument) -> None:
        if parsed.quarantine.height:
            self._held_quarantine.append(parsed.quarantine)
            self._quarantined += parsed.quarantine.height
            if sum(q.height for q in self._held_quarantine) >= QUARANTINE_HELD_ROWS:
                self._write_quarantine()
        if not parsed.rows.height:
            return
        if self.dataset.filled_within:
            self._held_rows.append(parsed.rows)
        else:
            self._write_rows(parsed.rows)

    def _with_lineage(self, frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(pl.lit(self.partition).alias("_partition"),
                                  pl.lit(self.report_id, dtype=pl.Utf8).alias("_report_id"))

    def _first_sighting(self, rows: pl.DataFrame) -> pl.Series:
        """True for each row not seen before in this load (in this chunk or an earlier one).

        A row is known by two independent 64-bit digests: the first indexes `_seen`, the second confirms,
        so two different rows are taken for one only if both digests collide (about 1 in 10^38)."""
        first = rows.hash_rows(seed=0x5EED)
        second = rows.hash_rows(seed=0xC0FFEE)
        fresh = pl.DataFrame({"a": first, "b": second}).select(pl.struct("a", "b").is_first_distinct()).to_series()
        known = self._seen.keys() & set(first.filter(fresh).to_list())
        if known:  # Amazon repeated a line that an earlier chunk or document already had
            again = [a in known and self._seen[a] == b for a, b in zip(first.to_list(), second.to_list(), strict=True)]
            fresh = fresh & ~pl.Series(again)
        self._seen.update(zip(first.filter(fresh).to_list(), second.filter(fresh).to_list(), strict=True))
        return fresh

    def _write_rows(self, rows: pl.DataFrame) -> None:
        new_rows = rows.filter(self._first_sighting(rows))
        self._duplicates += rows.height - new_rows.height
        if not new_rows.height:
            return
        if self._copy is None:
            self._copy_stack = contextlib.ExitStack()
            self._copy = self._copy_stack.enter_context(self._cursor.copy(
                _copy_statement(self._raw, self._raw_columns), writer=QueuedLibpqWriter(self._cursor)))
        self._copy.write(_csv(self._with_lineage(new_rows), self._raw_columns))
        self._rows += new_rows.height

    def _close_copy(self, exc: BaseException | None = None) -> None:
        if self._copy is not None:
            self._copy = None
            self._copy_stack.__exit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)

    def _write_quarantine(self) -> None:
        if not self._held_quarantine:
            return
        self._close_copy()  # one COPY at a time on a connection
        frame, self._held_quarantine = pl.concat(self._held_quarantine), []
        with self._cursor.copy(_copy_statement(self._quarantine, QUARANTINE_COLUMNS)) as copy:
            copy.write(_csv(self._with_lineage(frame), QUARANTINE_COLUMNS))

    def _finish(self) -> None:
        if self._held_rows:
            rows, self._held_rows = pl.concat(self._held_rows), []
            self._write_rows(fill_within_groups(rows, self.dataset))
        self._close_copy()
        self._write_quarantine()

    def __exit__(self, exc_type, exc, traceback) -> bool:
        if exc is None:
            try:
                self._finish()
            except BaseException as error:
                exc = error
        if exc is not None:
            with contextlib.suppress(Exception):
                self._close_copy(exc)  # tells the server the COPY failed
        if exc is None:
            self._stack.close()  # commits
            self.result = LoadResult(rows=self._rows, quarantined=self._quarantined,
                                     duplicates_removed=self._duplicates)
            return False
        self._stack.__exit__(type(exc), exc, exc.__traceback__)  # rolls back
        if exc_type is None:
            raise exc  # the body went well but writing its last rows failed
        return False


def day_partition(day: date) -> str:
    return day.isoformat()
