"""A window's documents split back into their days, so each daily partition is still replaced as a unit.

One report (or one listing) for a 30-day window holds 30 partitions' rows. Each split gives, per UTC day
of the window, a document shaped exactly like the one a one-day request would have brought (the same
header, the same JSON pages), so the load pipeline, the landing zone and a replay see nothing new. The
day of a row is the UTC day of its dataset's partition column, typed as the loader types it
(load/parse.py). A row whose day cannot be read, or falls outside the window, goes to the window's
first day, where the load quarantines it or the partition check flags it: nothing is dropped. Splitting
happens in memory, before the PII firewall, like the rest of a download; nothing unfirewalled is written.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable
from datetime import UTC, date, datetime

import polars as pl

from orchestration.extract.reports import ReportDocument
from orchestration.load.datasets import Dataset
from orchestration.load.flatten import load_json_document
from orchestration.load.parse import typed_text
from orchestration.load.stream import decode, text_chunks, text_lines

# (a window's document, the window's days) -> its part for each day it has rows for (a day left out gets none)
Split = Callable[[ReportDocument, list[date]], dict[date, ReportDocument]]


def _part(document: ReportDocument, day: date, compressed: bytes, charset: str) -> ReportDocument:
    context = {**document.context, "window_day": day.isoformat()}
    return ReportDocument(document.report_type, document.report_id, f"{document.document_id}.{day.isoformat()}",
                          charset, compressed, context)


def _day_of(value: object, days: list[date]) -> date:
    """The UTC day of a JSON value (an ISO date or timestamp) if it is one of the window's, else its first day."""
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return days[0]
        day = (moment.astimezone(UTC) if moment.tzinfo else moment).date()
        if day in days:
            return day
    return days[0]


def by_partition_column(dataset: Dataset) -> Split:
    """Split a flat file by the UTC day of `dataset`'s partition column, a chunk of lines at a time."""
    column = next(c for c in dataset.columns if c.name == dataset.partition_column)

    def split(document: ReportDocument, days: list[date]) -> dict[date, ReportDocument]:
        compressors = {day: zlib.compressobj(6, zlib.DEFLATED, 31) for day in days}
        pieces: dict[date, list[bytes]] = {day: [] for day in days}
        position: int | None = None
        header = ""
        for text in text_chunks(document.compressed, document.charset):
            lines = text_lines(text)
            if position is None:
                header, lines = lines[0], lines[1:]
                names = header.split("\t")
                position = names.index(column.source) if column.source in names else -1
                for day in days:
                    pieces[day].append(compressors[day].compress((header + "\n").encode("utf-8")))
            frame = pl.DataFrame({"line": lines}, schema={"line": pl.Utf8}).filter(
                pl.col("line").str.strip_chars() != "")
            if frame.height == 0:
                continue
            if position >= 0:
                raw = pl.col("line").str.split("\t").list.get(position, null_on_oob=True)
                typed = typed_text(raw, column.dtype)
                day_expr = typed.dt.date() if column.dtype != pl.Date else typed
                frame = frame.with_columns(day_expr.alias("day"))
            else:  # no such column: the load fails the document on its header, in the first day
                frame = frame.with_columns(pl.lit(None, dtype=pl.Date).alias("day"))
            frame = frame.with_columns(
                pl.when(pl.col("day").is_in(days)).then(pl.col("day")).otherwise(pl.lit(days[0])).alias("day"))
            for (day,), group in frame.group_by("day"):
                body = "\n".join(group["line"].to_list()) + "\n"
                pieces[day].append(compressors[day].compress(body.encode("utf-8")))
        if position is None:  # an empty document: every day gets it as it came (the load says why)
            return {day: _part(document, day, document.compressed, document.charset) for day in days}
        return {day: _part(document, day, b"".join(pieces[day]) + compressors[day].flush(), "utf-8")
                for day in days}

    return split


def _keep_day(node: object, field: str, day: date, days: list[date]) -> object:
    """`node` with every list of records that carry `field` cut to the records of `day`."""
    if isinstance(node, dict):
        return {key: _keep_day(value, field, day, days) for key, value in node.items()}
    if isinstance(node, list):
        if any(isinstance(item, dict) and field in item for item in node):
            return [item for item in node if isinstance(item, dict) and _day_of(item.get(field), days) == day]
        return [_keep_day(item, field, day, days) for item in node]
    return node


def by_record_field(field: str) -> Split:
    """Split a JSON pages document (extract/pages.py) by the UTC day of each record's `field`.

    Every list of records carrying `field`, at any depth of each page (a 2024-06-19 page's `transactions`,
    each of v0's event lists, v0's `FinancialEventGroupList`), is cut to the day's records; everything else
    of the page (its token, its request) is kept, so the day's document reads like a one-day listing."""

    def split(document: ReportDocument, days: list[date]) -> dict[date, ReportDocument]:
        body = json.loads(decode(document))
        return {day: _part(document, day, gzip.compress(json.dumps(_keep_day(body, field, day, days),
                                                                   separators=(",", ":")).encode("utf-8"), mtime=0),
                           "utf-8")
                for day in days}

    return split


def sales_and_traffic(document: ReportDocument, days: list[date]) -> dict[date, ReportDocument]:
    """Split a sales-and-traffic report at DAY granularity by its `salesAndTrafficByDate` entries.

    Its `salesAndTrafficByAsin` section totals the whole requested range, so only a one-day report can give a
    day's SKU rows; a longer window's days get none (the by-SKU partitions of such a window are left as they
    are, see `Extraction.range_totals`)."""
    body = load_json_document(decode(document))
    parts = {}
    for day in days:
        part = dict(body)
        part["salesAndTrafficByDate"] = [e for e in body.get("salesAndTrafficByDate") or []
                                         if _day_of(e.get("date"), days) == day]
        if len(days) > 1:
            part["salesAndTrafficByAsin"] = []
        if isinstance(part.get("reportSpecification"), dict):
            part["reportSpecification"] = {**part["reportSpecification"], "dataStartTime": day.isoformat(),
                                           "dataEndTime": day.isoformat()}
        parts[day] = _part(document, day, gzip.compress(json.dumps(part, ensure_ascii=False,
                                                                   separators=(",", ":")).encode("utf-8"), mtime=0),
                           "utf-8")
    return parts


def by_publication_day(document: ReportDocument, days: list[date]) -> dict[date, ReportDocument]:
    """A settlement report belongs whole to the UTC day Amazon published it (its createdTime); the other
    days of the window get nothing from it."""
    day = _day_of(document.context.get("created_time"), days)
    return {day: document}
