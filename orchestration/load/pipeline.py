"""The load step, one pipeline a document passes through once, in order: decode -> firewall -> parse -> COPY.

A flat-file document is decoded a chunk of whole lines at a time (load/stream.py), each chunk is cut by
the PII firewall to the allowlisted columns (load/firewall.py), the landed lines are parsed by name
through the dataset's allowlist (load/parse.py), and the rows are COPYed into the open partition load
(load/raw_tables.py), which replaces the partition in one transaction. The firewalled text is what gets
landed (land/documents.py) and what gets parsed, so a replay gives the same rows. A JSON page, already
reduced by its extractor, is decoded, flattened and parsed whole.

Also here: a partition end to end (fetch from the extraction catalogue, land, load), and its replay from
the landing zone. Dagster-free, so it can be tested and benchmarked on its own.
"""

from __future__ import annotations

import logging
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from itertools import islice

import polars as pl
import psycopg

from orchestration.extract.catalogue import Extraction, extraction_of
from orchestration.extract.connection import SellerConnection
from orchestration.extract.marketplaces import currency_of
from orchestration.extract.planner import Window, days_between, plan_windows
from orchestration.extract.reports import ReportDocument
from orchestration.land.documents import LANDED_GZIP_LEVEL, land_document, read_landed
from orchestration.land.landing_zone import LandingZone
from orchestration.load.datasets import Dataset
from orchestration.load.firewall import firewall_lines, kept_positions
from orchestration.load.flatten import flatten
from orchestration.load.parse import (
    HeaderPlan,
    MissingColumnError,
    ParsedDocument,
    non_blank,
    parse_fields,
    parse_records,
    plan_header,
    split_header,
)
from orchestration.load.raw_tables import LoadResult, PartitionLoad
from orchestration.load.stream import CHUNK_BYTES, decode, text_chunks, text_lines
from orchestration.retain.caps import refuse_beyond_cap
from orchestration.secrets.vault import Vault
from orchestration.tenants.registry import Tenant

log = logging.getLogger(__name__)

WINDOWS_AHEAD = 2  # windows fetched at once, ahead of the one loading (their documents wait in memory)


@dataclass
class PartitionOutcome:
    tenant_id: str
    dataset: str
    partition: str
    report_ids: list[str] = field(default_factory=list)
    landed_keys: list[str] = field(default_factory=list)
    bytes_downloaded: int = 0
    dropped_columns: list[str] = field(default_factory=list)
    missing_optional: list[str] = field(default_factory=list)
    load: LoadResult | None = None
    skipped: str | None = None  # why the partition was left untouched (Amazon cannot serve that day)

    def metadata(self) -> dict:
        return {
            "rows": self.load.rows if self.load else 0,
            "quarantined_rows": self.load.quarantined if self.load else 0,
            "duplicate_rows_removed": self.load.duplicates_removed if self.load else 0,
            "bytes_downloaded": self.bytes_downloaded,
            "report_ids": ", ".join(r for r in self.report_ids if r) or "none (API pages or no data)",
            "landed_documents": len(self.landed_keys),
            "columns_dropped": ", ".join(sorted(set(self.dropped_columns))) or "none",
            "optional_columns_missing": ", ".join(sorted(set(self.missing_optional))) or "none",
            "skipped": self.skipped or "no",
        }


# -- a flat-file document: decode -> firewall -> parse, a chunk at a time ---------------------------------


@dataclass(frozen=True)
class DocumentChunk:
    landed_text: str  # the chunk as it is landed: allowlisted columns only (the header first, in chunk one)
    parsed: ParsedDocument


def read_tsv(
    document: ReportDocument,
    dataset: Dataset,
    allowed: set[str],
    where: str,
    context: dict,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[DocumentChunk]:
    """Yield the document's chunks: the landed (allowlisted) text and the parsed rows of each.

    `allowed` is every column some dataset of the extraction keeps (what may be landed); the rows are
    parsed for `dataset`. A document without a header, or whose header lacks a required column, fails
    before anything is yielded.
    """
    plan: HeaderPlan | None = None
    keep: list[int] = []
    header_width = 0
    next_line = 2  # line 1 is the header; body lines are numbered as they are landed (non-blank only)
    for text in text_chunks(document.compressed, document.charset, chunk_bytes):  # decode
        lines = text_lines(text)
        landed_header = ""
        if plan is None:
            header = split_header(lines[0])
            lines = lines[1:]
            plan = plan_header(header, dataset, where)  # fails early, naming a missing required column
            keep = kept_positions(header, allowed)
            landed_header = "\t".join(header[i] for i in keep) + "\n"
            header_width = len(header)
        body = non_blank(pl.DataFrame({"line": lines}, schema={"line": pl.Utf8}))
        body = body.with_row_index("line_number", offset=next_line)
        next_line += body.height
        landed_lines = firewall_lines(body, header_width, keep)  # firewall
        # Parsing the landed lines' fields is parsing the landed text: a replay gives the same result.
        # (landed field j is raw field keep[j], so the raw header's positions address the landed fields).
        rows, quarantine = parse_fields(landed_lines, plan.position, len(keep), dataset, context)  # parse
        landed_text = landed_header + (landed_lines["line"].str.join("\n").item() + "\n" if body.height else "")
        yield DocumentChunk(
            landed_text=landed_text,
            parsed=ParsedDocument(rows=rows, quarantine=quarantine, dropped_columns=plan.dropped_columns,
                                  missing_optional=plan.missing_optional),
        )
    if plan is None:
        raise MissingColumnError(f"{dataset.report_type} for {where}: empty document, no header row")


# -- one document into its partition load (COPY), and its landed copy -------------------------------------


def parse_context(document: ReportDocument, partition: str) -> dict:
    context = dict(document.context)
    context.setdefault("snapshot_at", context.get("created_time"))
    context["day"] = partition
    if context.get("marketplace_id"):
        context.setdefault("currency", currency_of(context["marketplace_id"]))
    return context


def parse_json(document: ReportDocument, dataset: Dataset, partition: str) -> ParsedDocument:
    records = list(flatten(dataset, document.report_type, decode(document)))
    return parse_records(records, dataset, parse_context(document, partition))


def load_document(
    document: ReportDocument, dataset: Dataset, allowed: set[str], partition: str, where: str,
    load: PartitionLoad, outcome: PartitionOutcome,
) -> ReportDocument:
    """Write one document's rows into the open partition load, a chunk at a time; return its landed form.

    The landed form of a flat file holds only the columns in `allowed` (the PII firewall); a JSON page is
    already reduced by its extractor and is landed as it came.
    """
    outcome.dropped_columns += document.context.get("dropped_columns", [])
    if dataset.document_format == "json":
        parsed = parse_json(document, dataset, partition)
        outcome.dropped_columns += parsed.dropped_columns
        load.add(parsed)
        return document
    compressor = zlib.compressobj(LANDED_GZIP_LEVEL, zlib.DEFLATED, 31)  # 31: gzip framing
    dropped: list[str] = []
    missing: list[str] = []
    # zlib lets go of the GIL: the landed copy is compressed on a second thread while the next chunk parses
    # (one worker, so the pieces stay in order).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="land-compress") as background:
        landed = []
        for chunk in read_tsv(document, dataset, allowed, where, parse_context(document, partition)):
            landed.append(background.submit(compressor.compress, chunk.landed_text.encode("utf-8")))
            load.add(chunk.parsed)
            dropped, missing = chunk.parsed.dropped_columns, chunk.parsed.missing_optional
        compressed = b"".join(piece.result() for piece in landed) + compressor.flush()
    outcome.dropped_columns += dropped
    outcome.missing_optional += missing
    kept_out = [name for name in dropped if name not in allowed]
    return ReportDocument(
        document.report_type, document.report_id, document.document_id, "utf-8", compressed,
        {**document.context, "dropped_columns": sorted({*document.context.get("dropped_columns", []), *kept_out})},
    )


def _allowed(extraction: Extraction) -> set[str]:
    return set().union(*(d.allowlist for d in extraction.datasets))


def _report_ids(documents: list[ReportDocument]) -> str | None:
    return ", ".join(d.report_id for d in documents if d.report_id) or None


def load_and_land(
    *, conn: psycopg.Connection, vault: Vault, landing: LandingZone, tenant_id: str, extraction: Extraction,
    partition: str, documents: list[ReportDocument], outcomes: list[PartitionOutcome],
) -> list[str]:
    """Stream every document into each dataset's partition load and land its firewalled copy (once, with
    the first dataset) before that load commits; returns the landed keys."""
    where = f"tenant {tenant_id}, partition {partition}"
    allowed = _allowed(extraction)
    landed: list[str] = []
    for index, (dataset, outcome) in enumerate(zip(extraction.datasets, outcomes, strict=True)):
        outcome.report_ids = [d.report_id for d in documents]
        outcome.bytes_downloaded = sum(len(d.compressed) for d in documents)
        with PartitionLoad(conn, tenant_id, dataset, partition, _report_ids(documents)) as load:
            for document in documents:
                cut = load_document(document, dataset, allowed, partition, where, load, outcome)
                if index == 0:
                    landed.append(land_document(vault, landing, tenant_id, extraction.name, partition, cut))
        outcome.load = load.result
        outcome.landed_keys = landed
    return landed


# -- partitions, end to end: a day, or a window of days ------------------------------------------------------


def _replace_partition(
    *, conn: psycopg.Connection, vault: Vault, landing: LandingZone, tenant: Tenant, extraction: Extraction,
    day: date, documents: list[ReportDocument], outcomes: list[PartitionOutcome],
) -> None:
    """Load and land one day's documents, then drop the day's older landed copies."""
    partition = day.isoformat()
    earlier = set(landing.list(f"{tenant.tenant_id}/{extraction.name}/{partition}"))
    landed = load_and_land(
        conn=conn, vault=vault, landing=landing, tenant_id=tenant.tenant_id, extraction=extraction,
        partition=partition, documents=documents, outcomes=outcomes,
    )
    # The partition now stands on the new documents; older copies would double it on replay.
    for key in earlier - set(landed):
        landing.delete(key)


def _load_day(
    *, conn: psycopg.Connection, vault: Vault, landing: LandingZone, tenant: Tenant, extraction: Extraction,
    window: Window, day: date, documents: list[ReportDocument], outcomes: list[PartitionOutcome],
) -> None:
    """One day of a window: every dataset replaced, except those a longer window cannot give per day."""
    kept, loading = extraction, outcomes
    range_totals = extraction.totals_over_range()
    if window.first_day != window.last_day and range_totals:
        loading = [o for o in outcomes if o.dataset not in range_totals]
        for outcome in outcomes:
            if outcome.dataset in range_totals:
                outcome.skipped = (f"{outcome.dataset} totals a request's whole range; the window {window} "
                                   "cannot give it per day (a one-day request does)")
        kept = replace(extraction, datasets=tuple(d for d in extraction.datasets
                                                  if d.name not in range_totals))
    _replace_partition(conn=conn, vault=vault, landing=landing, tenant=tenant, extraction=kept, day=day,
                       documents=documents, outcomes=loading)


def ingest_window(
    *,
    tenant: Tenant,
    extraction: Extraction,
    first_day: date,
    last_day: date,
    vault: Vault,
    seller: SellerConnection,
    landing: LandingZone,
    conn: psycopg.Connection,
    today: date | None = None,
) -> list[PartitionOutcome]:
    """Fetch the days first_day..last_day with the fewest requests the extraction's window rule allows (the
    planner, extract/planner.py), and replace each day's partition of each dataset; one outcome per day per
    dataset, oldest day first.

    A window's documents are split back into their days (extract/windows.py) and each day is loaded and
    landed as a one-day fetch would have been: a day stays the unit of replacement, status and lineage. A day
    Amazon cannot serve is left as it is (its outcomes say why). A dataset whose rows total the whole request
    (`Extraction.range_totals`) is left as it is on the days of a longer window; a day that already has landed
    documents is asked alone, so its replacement keeps every dataset whole. A range reaching beyond a
    dataset's retention cap raises BeyondRetentionCap before any call: Amazon's policy forbids holding it.
    """
    today = today or datetime.now(UTC).date()
    days = days_between(first_day, last_day)
    refuse_beyond_cap([d.name for d in extraction.datasets], first_day, today)
    outcomes = {day: [PartitionOutcome(tenant.tenant_id, d.name, day.isoformat()) for d in extraction.datasets]
                for day in days}
    wanted = []
    for day in days:
        reason = extraction.unreachable(day, today)
        if reason:
            for outcome in outcomes[day]:
                outcome.skipped = reason
        else:
            wanted.append(day)
    alone: set[date] = set()
    if extraction.totals_over_range():
        alone = {day for day in wanted if landing.list(f"{tenant.tenant_id}/{extraction.name}/{day.isoformat()}")}

    def fetch(window: Window) -> dict[date, list[ReportDocument]]:
        if window.first_day == window.last_day:
            return {window.first_day: extraction.fetch(seller, tenant, window.first_day)}
        fetched: dict[date, list[ReportDocument]] = {day: [] for day in window.days}
        for document in extraction.fetch_window(seller, tenant, window.first_day, window.last_day):
            for day, part in extraction.split(document, window.days).items():
                fetched[day].append(part)
        return fetched

    windows = iter(plan_windows(wanted, extraction.window, alone=alone))
    # The next windows are asked for while this one loads, and side by side (WINDOWS_AHEAD fetches at once, as
    # many windows at most in memory): Amazon makes the next report while this one's is downloaded and while we
    # parse and COPY, so the rate-limit buckets do not sit idle behind one window's processing.
    with ThreadPoolExecutor(max_workers=WINDOWS_AHEAD, thread_name_prefix=f"fetch-{extraction.name}") as fetcher:
        pending = deque((w, fetcher.submit(fetch, w)) for w in islice(windows, WINDOWS_AHEAD))
        try:
            while pending:
                window, fetching = pending.popleft()
                fetched = fetching.result()
                following = next(windows, None)
                if following is not None:
                    pending.append((following, fetcher.submit(fetch, following)))
                for day, documents in fetched.items():
                    _load_day(conn=conn, vault=vault, landing=landing, tenant=tenant, extraction=extraction,
                              window=window, day=day, documents=documents, outcomes=outcomes[day])
        except BaseException:
            for _, waiting in pending:  # a failed window stops the extraction: ask Amazon for nothing more
                waiting.cancel()
            raise
    return [outcome for day in days for outcome in outcomes[day]]


def ingest_partition(
    *,
    tenant: Tenant,
    extraction: Extraction,
    day: date,
    vault: Vault,
    seller: SellerConnection,
    landing: LandingZone,
    conn: psycopg.Connection,
    today: date | None = None,
) -> list[PartitionOutcome]:
    """Fetch the extraction's documents for `day`, land them encrypted, load each of its datasets.

    Each document streams through the firewall into its dataset's partition load; its landed copy (the
    firewalled text, encrypted) is written before that load commits, so a committed partition can always
    be replayed from the landing zone. A day older than a dataset's retention cap raises BeyondRetentionCap:
    it would be removed again by the next retention run, and Amazon's policy forbids holding it.
    """
    return ingest_window(tenant=tenant, extraction=extraction, first_day=day, last_day=day, vault=vault,
                         seller=seller, landing=landing, conn=conn, today=today)


def replay_partition(
    *, tenant_id: str, dataset: Dataset, partition: str, vault: Vault, landing: LandingZone, conn: psycopg.Connection
) -> PartitionOutcome:
    """Rebuild a raw partition from the landing zone alone, without calling the API."""
    extraction = extraction_of(dataset)
    outcome = PartitionOutcome(tenant_id, dataset.name, partition)
    keys = landing.list(f"{tenant_id}/{extraction.name}/{partition}")
    outcome.landed_keys = keys
    where = f"tenant {tenant_id}, partition {partition} (replay)"
    # Each landed document is read once; they are compressed and firewalled, as small as a fetch's documents.
    documents = [read_landed(vault, landing, key) for key in keys]
    outcome.report_ids = [d.report_id for d in documents]
    allowed = _allowed(extraction)
    with PartitionLoad(conn, tenant_id, dataset, partition, _report_ids(documents)) as load:
        for document in documents:
            load_document(document, dataset, allowed, partition, where, load, outcome)
    outcome.load = load.result
    return outcome
