"""The PII firewall for documents: what may be landed at all.

Before a flat-file document is encrypted into the landing zone it is cut down, in memory and a chunk of
lines at a time (load/pipeline.py), to the columns some raw table allowlists; every other column (buyer
names, e-mails, phones, addresses, tax ids, tracking numbers) never touches disk, not even encrypted.
A line with the wrong number of fields cannot be cut safely (a shifted city may sit under an
allowlisted header), so it is landed as a marker that says why, and quarantined on load with that
reason. JSON API pages are already reduced by the extractor that fetched them.
"""

from __future__ import annotations

import polars as pl

from orchestration.load.parse import FIREWALL_MARKER, marker_reason


def kept_positions(header: list[str], allowed: set[str]) -> list[int]:
    return [i for i, name in enumerate(header) if name in allowed]


def firewall_lines(lines: pl.DataFrame, header_width: int, keep: list[int]) -> pl.DataFrame:
    """Non-blank body lines (`line_number`, `line`) cut to the kept positions, as they will be landed.

    Every input line gives exactly one non-blank output line, so line numbers survive a replay: a line
    with the wrong number of fields, one with no allowlisted value at all, and one whose landed text
    would look like a marker become a marker line carrying the reason (never a value of the line).

    Returns `line_number`, `line` (the landed text) and, so the parser need not split the landed text
    again, what parse.split_lines would make of it: `fields` (the raw line's fields: landed field j is
    raw field keep[j]), `field_count` and `marker` (the reason, on marker lines).
    """
    marker = f"{FIREWALL_MARKER}: "
    split = lines.select("line_number", "line", pl.col("line").str.split("\t").alias("fields"))
    fields = pl.col("fields")
    if keep:
        split = split.with_columns(
            pl.concat_str([fields.list.get(i, null_on_oob=True) for i in keep], separator="\t").alias("kept")
        )
        kept = pl.col("kept")
        empty = kept.str.strip_chars() == ""
    else:
        kept, empty = pl.lit(None, dtype=pl.Utf8), pl.lit(True)
    problem = (
        pl.when(pl.col("line").str.starts_with(FIREWALL_MARKER))
        .then(marker_reason(pl.when(pl.col("line").str.starts_with(FIREWALL_MARKER)).then(pl.col("line"))))
        .when(fields.list.len() != header_width)
        .then(pl.format("expected {} fields, found {}", pl.lit(header_width), fields.list.len()))
        .when(empty)
        .then(pl.lit("no allowlisted values"))
        .when(kept.str.starts_with(FIREWALL_MARKER))
        .then(pl.lit("line removed by the PII firewall"))
    )
    split = split.with_columns(problem.alias("marker"))
    return split.select(
        "line_number",
        pl.when(pl.col("marker").is_null()).then(kept).otherwise(pl.lit(marker) + pl.col("marker")).alias("line"),
        "fields",
        pl.when(pl.col("marker").is_null()).then(pl.lit(len(keep))).otherwise(pl.lit(1)).alias("field_count"),
        "marker",
    )
