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

from orchestration.load.datasets import Dataset

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


class MissingColumnError(ValueError):
    """A required column is absent from a report's header."""


@dataclass(frozen=True)
class ParsedDocument:
    rows: pl.DataFrame  # allowlisted, typed columns, in Dataset.columns order
    quarantine: pl.DataFrame  # line_number, reason, fields (allowlisted values only, as text)
    dropped_columns: list[str]  # header names we did not keep (names only, never values)
    missing_optional: list[str]


def _cast(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    text = expr.str.strip_chars()
    text = pl.when(text == "").then(None).otherwise(text)
    if dtype == pl.Utf8:
        return text
    if isinstance(dtype, pl.Datetime):
        return pl.coalesce(
            [text.str.to_datetime(fmt, strict=False, time_zone="UTC") for fmt in TIMESTAMP_FORMATS]
        ).dt.cast_time_unit("us")
    if dtype == pl.Date:
        return text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    if dtype == pl.Boolean:
        lower = text.str.to_lowercase()
        return pl.when(lower.is_in(TRUE_VALUES)).then(True).when(lower.is_in(FALSE_VALUES)).then(False)
    if isinstance(dtype, pl.Decimal):
        return text.str.replace_all(",", "").cast(dtype, strict=False)
    if dtype == pl.Int64:
        # "12.0" is a whole number too (JSON writers); anything fractional fails to parse.
        as_float = text.cast(pl.Float64, strict=False)
        return pl.when(as_float == as_float.floor()).then(as_float.cast(pl.Int64, strict=False))
    return text.cast(dtype, strict=False)


def _context_value(column_source: str, context: dict) -> str | None:
    value = context.get(column_source[1:])
    return None if value is None else str(value)


def _judge(texts: pl.DataFrame, dataset: Dataset, expected_fields: int | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Type the text columns; split into good rows and quarantine (line number, reason, allowlisted fields)."""
    typed = texts.select(
        "line_number",
        "field_count",
        *[_cast(pl.col(c.name), c.dtype).alias(c.name) for c in dataset.columns],
    )
    reasons = []
    if expected_fields is not None:
        reasons.append(
            pl.when(pl.col("field_count") != expected_fields).then(
                pl.format("expected {} fields, found {}", pl.lit(expected_fields), pl.col("field_count"))
            )
        )
    for column in dataset.columns:
        raw_value = texts[column.name]
        typed_value = typed[column.name]
        not_parsed = raw_value.str.strip_chars().ne("").fill_null(False) & typed_value.is_null()
        reasons.append(pl.when(pl.lit(not_parsed)).then(pl.lit(f"{column.source}: not a valid {column.dtype}")))
        if column.required:
            reasons.append(pl.when(pl.lit(typed_value.is_null())).then(pl.lit(f"{column.source}: missing")))
    reason = pl.concat_str(reasons, separator="; ", ignore_nulls=True)
    judged = typed.with_columns(reason.alias("_reason"))
    good_mask = judged["_reason"].is_null() | (judged["_reason"] == "")

    rows = judged.filter(good_mask).select(dataset.column_names)
    bad_lines = judged.filter(~good_mask).select("line_number", "_reason")
    # A row with the wrong number of fields may have shifted a non-allowlisted value (a city, a name)
    # into an allowlisted slot, so its fields are not kept at all: only its line number and reason.
    intact = pl.lit(True) if expected_fields is None else pl.col("field_count") == expected_fields
    quarantine = bad_lines.join(texts, on="line_number", how="left").select(
        pl.col("line_number").cast(pl.Int64),
        pl.col("_reason").alias("reason"),
        pl.when(intact).then(pl.struct(dataset.column_names).struct.json_encode()).alias("fields"),
    )
    return rows, quarantine


def parse_document(text: str, dataset: Dataset, where: str, context: dict | None = None) -> ParsedDocument:
    """Parse `text` (a whole TSV document). `where` names the tenant/partition for error messages."""
    context = context or {}
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise MissingColumnError(f"{dataset.report_type} for {where}: empty document, no header row")
    header = [h.strip().lstrip("\ufeff") for h in lines[0].split("\t")]
    position = {}
    for index, name in enumerate(header):
        position.setdefault(name, index)

    from_document = [c for c in dataset.columns if not c.source.startswith("@")]
    missing_required = [c.source for c in from_document if c.required and c.source not in position]
    if missing_required:
        raise MissingColumnError(
            f"{dataset.report_type} for {where}: required column(s) {', '.join(missing_required)} "
            f"missing from the header"
        )
    missing_optional = [c.source for c in from_document if c.source not in position]
    dropped = [h for h in header if h not in dataset.allowlist]

    body = pl.DataFrame({"line": lines[1:]}, schema={"line": pl.Utf8}).with_row_index("line_number", offset=2)
    body = body.filter(pl.col("line").str.strip_chars() != "")
    fields = body.with_columns(pl.col("line").str.split("\t").alias("fields")).drop("line")
    fields = fields.with_columns(pl.col("fields").list.len().alias("field_count"))

    def select(c):
        if c.source.startswith("@"):
            return pl.lit(_context_value(c.source, context), dtype=pl.Utf8).alias(c.name)
        if c.source in position:
            return pl.col("fields").list.get(position[c.source], null_on_oob=True).cast(pl.Utf8).alias(c.name)
        return pl.lit(None, dtype=pl.Utf8).alias(c.name)

    texts = fields.select("line_number", "field_count", *[select(c) for c in dataset.columns])
    rows, quarantine = _judge(texts, dataset, len(header))
    return ParsedDocument(rows=rows, quarantine=quarantine, dropped_columns=dropped, missing_optional=missing_optional)


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
