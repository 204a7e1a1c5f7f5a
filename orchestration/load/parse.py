"""Parses a document into a typed polars frame by column name: the PII firewall in code.

Flat files are split by header NAME (extra columns ignored and reported, reordered columns fine, a
missing required column fails naming the report, column and tenant); JSON datasets arrive as records
from load/flatten.py. Either way only allowlisted columns are ever selected, in memory, before anything
is written anywhere. Rows that cannot be used (wrong number of fields, a value that does not parse, a
required value missing) go to quarantine with their reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from orchestration.errors import RetkeeError
from orchestration.load.datasets import Column, Dataset

TIMESTAMP_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S UTC",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%d",
)
TRUE_VALUES = ["true", "yes", "y", "1"]
FALSE_VALUES = ["false", "no", "n", "0"]


class MissingColumnError(RetkeeError, ValueError):
    """A required column is absent from a report's header."""


@dataclass(frozen=True)
class ParsedDocument:
    rows: pl.DataFrame  # allowlisted, typed columns, in Dataset.columns order
    quarantine: pl.DataFrame  # line_number, reason, fields (allowlisted values only, as text)
    dropped_columns: list[str]  # header names we did not keep (names only, never values)
    missing_optional: list[str]


BOOLEANS = {**dict.fromkeys(TRUE_VALUES, True), **dict.fromkeys(FALSE_VALUES, False)}


def _cast(expr: pl.Expr, dtype: pl.DataType, first_format_only: bool = False) -> pl.Expr:
    """Typed value of a text column, null where it is empty or does not parse.

    Timestamps are tried in every TIMESTAMP_FORMATS format (the first that parses wins); with
    `first_format_only` only the first is tried, which is what nearly every value needs and costs a seventh
    (`_judge` retries the few values that fail with the full list).
    """
    text = expr.str.strip_chars()
    text = pl.when(text == "").then(None).otherwise(text)
    if dtype == pl.Utf8:
        return text
    if isinstance(dtype, pl.Datetime):
        formats = TIMESTAMP_FORMATS[:1] if first_format_only else TIMESTAMP_FORMATS
        return pl.coalesce(
            [text.str.to_datetime(fmt, strict=False, time_zone="UTC") for fmt in formats]
        ).dt.cast_time_unit("us")
    if dtype == pl.Date:
        # ISO days, and the MM/DD/YYYY days of Amazon's inventory ledger.
        day = text.str.slice(0, 10)
        return pl.coalesce([day.str.to_date("%Y-%m-%d", strict=False), day.str.to_date("%m/%d/%Y", strict=False)])
    if dtype == pl.Boolean:
        return text.str.to_lowercase().replace_strict(BOOLEANS, default=None, return_dtype=pl.Boolean)
    if isinstance(dtype, pl.Decimal):
        return text.str.replace_all(",", "").cast(dtype, strict=False)
    if dtype == pl.Int64:
        # "12.0" is a whole number too (JSON writers); anything fractional fails to parse.
        as_float = text.cast(pl.Float64, strict=False)
        return pl.when(as_float == as_float.floor()).then(as_float.cast(pl.Int64, strict=False))
    return text.cast(dtype, strict=False)


def typed_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A text column typed as the loader types it (every timestamp format; null where it does not parse)."""
    return _cast(expr, dtype)


def _context_value(column_source: str, context: dict) -> str | None:
    value = context.get(column_source[1:])
    return None if value is None else str(value)


# A line the PII firewall could not cut safely is landed as this marker plus why (load/firewall.py); the
# parser quarantines it with that reason, so a replay from the landing zone quarantines exactly the same lines.
FIREWALL_MARKER = "#UNPARSEABLE-LINE-REMOVED-BY-FIREWALL"
_MARKER_REASON = r"^#UNPARSEABLE-LINE-REMOVED-BY-FIREWALL: (expected \d+ fields, found \d+|no allowlisted values)$"


def marker_reason(line: pl.Expr) -> pl.Expr:
    """The reason a firewall marker line carries (a generic one for a marker without a known reason);
    null where `line` is null (pass only the marker lines, so the pattern runs on those alone)."""
    return pl.when(line.is_not_null()).then(
        pl.coalesce(line.str.extract(_MARKER_REASON, 1), pl.lit("line removed by the PII firewall"))
    )


def _problems(column: Column, raw: pl.Expr, typed: pl.Expr) -> list[tuple[pl.Expr, pl.Expr]]:
    """(condition, reason) pairs for one column's value."""
    found = []
    if column.dtype != pl.Utf8:  # text is never "not valid": only typed values can fail to parse
        found.append((raw.str.strip_chars().ne("").fill_null(False) & typed.is_null(),
                      pl.lit(f"{column.source}: not a valid {column.dtype}")))
    if column.required:
        found.append((typed.is_null(), pl.lit(f"{column.source}: missing")))
    return found


def _retry_timestamps(typed: pl.DataFrame, dataset: Dataset, typed_name: dict[str, str]) -> pl.DataFrame:
    """Parse again, in every known format, the timestamps the first format could not read (few rows)."""
    stamps = [c for c in dataset.columns if isinstance(c.dtype, pl.Datetime)]
    if not stamps or not typed.height:
        return typed
    failed = typed.select(pl.any_horizontal(
        pl.col(c.name).str.strip_chars().ne("").fill_null(False) & pl.col(typed_name[c.name]).is_null()
        for c in stamps
    )).to_series()
    if not failed.any():
        return typed
    rows = failed.arg_true()
    again = typed[rows].select(_cast(pl.col(c.name), c.dtype).alias(typed_name[c.name]) for c in stamps)
    return typed.with_columns(typed[typed_name[c.name]].scatter(rows, again[typed_name[c.name]]) for c in stamps)


def _judge(texts: pl.DataFrame, dataset: Dataset, expected_fields: int | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Type the text columns; split into good rows and quarantine (line number, reason, allowlisted fields).

    One lazy pass types every column (in parallel) and flags the rows with any problem; the reasons are
    spelled out for the flagged rows alone, which are few.
    """
    typed_name = {c.name: f"__typed_{i}" for i, c in enumerate(dataset.columns)}
    problems: list[tuple[pl.Expr, pl.Expr]] = []
    if expected_fields is not None:
        problems.append((pl.col("field_count") != expected_fields,
                         pl.format("expected {} fields, found {}", pl.lit(expected_fields), pl.col("field_count"))))
    for column in dataset.columns:
        problems += _problems(column, pl.col(column.name), pl.col(typed_name[column.name]))
    has_marker = "marker" in texts.columns
    flags = [condition for condition, _ in problems] + ([pl.col("marker").is_not_null()] if has_marker else [])
    typed = texts.lazy().with_columns(
        _cast(pl.col(c.name), c.dtype, first_format_only=True).alias(typed_name[c.name]) for c in dataset.columns
    ).collect()
    typed = _retry_timestamps(typed, dataset, typed_name)
    judged = typed.with_columns(pl.any_horizontal(flags).fill_null(True).alias("__bad"))
    rows = judged.filter(~pl.col("__bad")).select(pl.col(typed_name[n]).alias(n) for n in dataset.column_names)
    bad = judged.filter(pl.col("__bad"))
    reason = pl.concat_str([pl.when(condition).then(text) for condition, text in problems],
                           separator="; ", ignore_nulls=True)
    if has_marker:
        reason = pl.when(pl.col("marker").is_not_null()).then(pl.col("marker")).otherwise(reason)
    # A row with the wrong number of fields may have shifted a non-allowlisted value (a city, a name)
    # into an allowlisted slot, so its fields are not kept at all: only its line number and reason.
    intact = pl.lit(True) if expected_fields is None else pl.col("field_count") == expected_fields
    if has_marker:
        intact = intact & pl.col("marker").is_null()
    quarantine = bad.select(
        pl.col("line_number").cast(pl.Int64),
        reason.alias("reason"),
        pl.when(intact).then(pl.struct(dataset.column_names).struct.json_encode()).alias("fields"),
    )
    return rows, quarantine


@dataclass(frozen=True)
class HeaderPlan:
    """Where each allowlisted column sits in a document's header, and what the header lacks or adds."""

    header: list[str]
    position: dict[str, int]  # header name -> index of its first occurrence
    dropped_columns: list[str]  # header names no allowlist keeps (names only, never values)
    missing_optional: list[str]


def split_header(line: str) -> list[str]:
    return [h.strip().lstrip("\ufeff") for h in line.split("\t")]


def plan_header(header: list[str], dataset: Dataset, where: str) -> HeaderPlan:
    """Match a header to the dataset's allowlist; a missing required column fails, naming report and tenant."""
    position: dict[str, int] = {}
    for index, name in enumerate(header):
        position.setdefault(name, index)
    from_document = [c for c in dataset.columns if not c.source.startswith("@")]
    missing_required = [c.source for c in from_document if c.required and c.source not in position]
    if missing_required:
        raise MissingColumnError(
            f"{dataset.report_type} for {where}: required column(s) {', '.join(missing_required)} "
            f"missing from the header"
        )
    return HeaderPlan(
        header=header,
        position=position,
        dropped_columns=[h for h in header if h not in dataset.allowlist],
        missing_optional=[c.source for c in from_document if c.source not in position],
    )


def non_blank(lines: pl.DataFrame) -> pl.DataFrame:
    return lines.filter(pl.col("line").str.strip_chars() != "")


def split_lines(lines: pl.DataFrame) -> pl.DataFrame:
    """Body lines (`line_number`, `line`) as fields, with their count and, for a firewall marker, its reason."""
    return lines.select(
        "line_number",
        pl.col("line").str.split("\t").alias("fields"),
        marker_reason(pl.when(pl.col("line").str.starts_with(FIREWALL_MARKER)).then(pl.col("line"))).alias("marker"),
    ).with_columns(pl.col("fields").list.len().alias("field_count"))


def parse_fields(
    split: pl.DataFrame, position: dict[str, int], expected_fields: int, dataset: Dataset, context: dict
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Type split lines (`line_number`, `fields`, `field_count`, `marker`) whose header puts each name at
    `position`: (good rows, quarantine)."""

    def select(c):
        if c.source.startswith("@"):
            return pl.lit(_context_value(c.source, context), dtype=pl.Utf8).alias(c.name)
        if c.source in position:
            return pl.col("fields").list.get(position[c.source], null_on_oob=True).cast(pl.Utf8).alias(c.name)
        return pl.lit(None, dtype=pl.Utf8).alias(c.name)

    texts = split.select("line_number", "field_count", "marker", *[select(c) for c in dataset.columns])
    return _judge(texts, dataset, expected_fields)


def parse_lines(
    lines: pl.DataFrame, plan: HeaderPlan, dataset: Dataset, context: dict
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Type non-blank body lines (`line_number`, `line`) by the header plan: (good rows, quarantine)."""
    return parse_fields(split_lines(lines), plan.position, len(plan.header), dataset, context)


def parse_document(text: str, dataset: Dataset, where: str, context: dict | None = None) -> ParsedDocument:
    """Parse `text` (a whole TSV document) at once. `where` names the tenant/partition for error messages.

    Large documents are read chunk by chunk instead (load/pipeline.py), through the same `parse_lines`.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise MissingColumnError(f"{dataset.report_type} for {where}: empty document, no header row")
    plan = plan_header(split_header(lines[0]), dataset, where)
    body = pl.DataFrame({"line": lines[1:]}, schema={"line": pl.Utf8}).with_row_index("line_number", offset=2)
    rows, quarantine = parse_lines(non_blank(body), plan, dataset, context or {})
    return ParsedDocument(rows=rows, quarantine=quarantine, dropped_columns=plan.dropped_columns,
                          missing_optional=plan.missing_optional)


def fill_within_groups(rows: pl.DataFrame, dataset: Dataset) -> pl.DataFrame:
    """Values Amazon writes once per group (a settlement's currency and dates sit on its summary row only)
    copied onto every row of the group. Needs the whole group, so the loader holds such datasets to the end."""
    if not dataset.filled_within or not rows.height:
        return rows
    return rows.with_columns(
        pl.col(column).fill_null(pl.col(column).drop_nulls().first().over(group))
        for column, group in dataset.filled_within
    )


def parse_records(records: list[dict], dataset: Dataset, context: dict | None = None) -> ParsedDocument:
    """Type flattened JSON records (field -> value) by the dataset's explicit schema.

    Only allowlisted fields are read out of each record; the names of any others are reported as
    dropped (never their values).
    """
    context = context or {}
    allow = dataset.allowlist
    dropped = sorted({key for record in records for key in record if key not in allow})

    def text(value) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    data = {
        c.name: [
            _context_value(c.source, {**context, **{k[1:]: v for k, v in r.items() if k.startswith("@")}})
            if c.source.startswith("@")
            else text(r.get(c.source))
            for r in records
        ]
        for c in dataset.columns
    }
    texts = pl.DataFrame(data, schema={c.name: pl.Utf8 for c in dataset.columns}).with_row_index(
        "line_number", offset=1
    ).with_columns(pl.lit(0).alias("field_count"))
    texts = texts.select("line_number", "field_count", *dataset.column_names)
    rows, quarantine = _judge(texts, dataset, None)
    return ParsedDocument(rows=rows, quarantine=quarantine, dropped_columns=dropped, missing_optional=[])
