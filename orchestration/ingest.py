"""Carries one (tenant, extraction, day) partition from SP-API to the raw tables, through the landing zone.

An *extraction* is one way of asking Amazon for data (a report type, a settlement listing, an API
listing) and feeds one or more raw tables (datasets). For every extraction the steps are the same:
extract (documents for the day, per marketplace) -> land (encrypt each document under a fresh data
key) -> load (parse by name through the dataset's allowlist, COPY, replace the partition, one
transaction per dataset). Replay skips the API and reads the landing zone. Dagster-free, so it can be
tested and benchmarked on its own.
"""

from __future__ import annotations

import hashlib
import logging
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import psycopg

from orchestration.extract.connection import SellerConnection
from orchestration.extract.errors import ReportFatal
from orchestration.extract.finances import list_financial_event_groups, list_financial_events
from orchestration.extract.finances_transactions import LOOKBACK_DAYS as FINANCES_LOOKBACK_DAYS
from orchestration.extract.finances_transactions import list_transactions
from orchestration.extract.inbound import get_shipments
from orchestration.extract.inventory import get_inventory_summaries
from orchestration.extract.marketplaces import currency_of
from orchestration.extract.reports import ReportDocument, ReportRequester
from orchestration.extract.retries import with_retries
from orchestration.extract.settlements import RETENTION as SETTLEMENT_RETENTION
from orchestration.extract.settlements import published_settlements
from orchestration.land.envelope import open_sealed, read_header, seal
from orchestration.land.landing_zone import LandingZone, document_key
from orchestration.load import datasets as ds
from orchestration.load.datasets import Dataset
from orchestration.load.firewall import decode
from orchestration.load.flatten import FLATTENERS, load_json_document
from orchestration.load.parse import ParsedDocument, parse_records
from orchestration.load.raw_tables import LoadResult, PartitionLoad
from orchestration.load.stream import read_tsv
from orchestration.retain.caps import refuse_beyond_cap
from orchestration.secrets.vault import Vault
from orchestration.settings import FINANCES_V0_REMOVAL, FINANCES_V0_SWITCH, finances_v0_enabled
from orchestration.tenants.registry import Tenant

log = logging.getLogger(__name__)

FATAL_ATTEMPTS = 3  # a FATAL report is requested again this many times before the partition fails
# A settlement's group starts, closes 14 days later and is deposited about 2 days after that: three weeks of
# start days are asked again every day, so the group's final status and deposit are seen.
GROUP_LOOKBACK_DAYS = 21


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


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


# -- how each extraction fetches its documents ----------------------------------------------------------

Fetch = Callable[[SellerConnection, Tenant, date], list[ReportDocument]]


def _retry_fatal(request: Callable[[], ReportDocument | None]) -> ReportDocument | None:
    """Amazon's FATAL is often passing: ask for a new report; after FATAL_ATTEMPTS the reason is raised."""
    return with_retries(request, on=ReportFatal, attempts=FATAL_ATTEMPTS, max_wait=30)


Window = Callable[[date], tuple[datetime, datetime]]


def snapshot_window(day: date) -> tuple[datetime, datetime]:
    """A snapshot shows the moment the report is made; the fees report wants a start 72 h back."""
    end = datetime.now(UTC)
    return end - timedelta(hours=72), end


def recent_months_window(day: date) -> tuple[datetime, datetime]:
    """The storage-fee report of the last two months: a month's storage is charged early in the next month,
    so the month before last is always charged and last month is once its charge has posted."""
    end = datetime.now(UTC)
    last_month = (end.date().replace(day=1) - timedelta(days=1)).replace(day=1)
    month_before = (last_month - timedelta(days=1)).replace(day=1)
    return datetime.combine(month_before, time(0), tzinfo=UTC), end


def report_fetch(
    report_type: str, *, snapshot: bool = False, options: dict | None = None, window: Window | None = None
) -> Fetch:
    """Create the report per marketplace (all first, Amazon works on them side by side), then collect.

    The data range is the partition's UTC day, the last 72 hours for a snapshot, or what `window` says."""

    def fetch(seller: SellerConnection, tenant: Tenant, day: date) -> list[ReportDocument]:
        if window is not None:
            start, end = window(day)
        elif snapshot:
            start, end = snapshot_window(day)
        else:
            start, end = day_bounds(day)
        requested = []
        for marketplace_id in tenant.marketplace_ids:
            requester = ReportRequester(seller, marketplace_id)
            requested.append((requester, requester.create(report_type, start, end, options)))
        documents = []
        for requester, report_id in requested:
            first = [report_id]

            def once(requester=requester, first=first):
                rid = first.pop() if first else requester.create(report_type, start, end, options)
                return requester.collect(rid, report_type)

            document = _retry_fatal(once)
            if document is not None:  # CANCELLED: Amazon had no data, the partition is empty
                documents.append(document)
        return documents

    return fetch


def _settlements_fetch(seller: SellerConnection, tenant: Tenant, day: date) -> list[ReportDocument]:
    start, end = day_bounds(day)
    return [d for m in tenant.marketplace_ids for d in published_settlements(seller, m, start, end)]


def _finances_fetch(seller: SellerConnection, tenant: Tenant, day: date) -> list[ReportDocument]:
    start, end = day_bounds(day)
    document = list_financial_events(seller, tenant.marketplace_ids[0], start, end)
    return [document] if document is not None else []


def _event_groups_fetch(seller: SellerConnection, tenant: Tenant, day: date) -> list[ReportDocument]:
    # One listing serves every marketplace of the seller: a group names its currency, not its marketplace.
    start, end = day_bounds(day)
    document = list_financial_event_groups(seller, tenant.marketplace_ids[0], start, end)
    return [document] if document is not None else []


def _transactions_fetch(seller: SellerConnection, tenant: Tenant, day: date) -> list[ReportDocument]:
    start, end = day_bounds(day)
    documents = (list_transactions(seller, m, start, end) for m in tenant.marketplace_ids)
    return [d for d in documents if d is not None]


def _inventory_fetch(seller: SellerConnection, tenant: Tenant, day: date) -> list[ReportDocument]:
    return [get_inventory_summaries(seller, m) for m in tenant.marketplace_ids]


def _inbound_fetch(seller: SellerConnection, tenant: Tenant, day: date) -> list[ReportDocument]:
    return [get_shipments(seller, m) for m in tenant.marketplace_ids]


def _v0_switched_off() -> str | None:
    if finances_v0_enabled():
        return None
    return f"Finances v0 is switched off ({FINANCES_V0_SWITCH}=off; Amazon removes it on {FINANCES_V0_REMOVAL})"


@dataclass(frozen=True)
class Extraction:
    name: str  # landing-zone folder and Dagster asset group member
    datasets: tuple[Dataset, ...]
    fetch: Fetch
    source_api: str
    snapshot: bool = False  # Amazon serves only the present: only today's partition can be taken
    history_days: int | None = None  # how far back Amazon serves this data
    rule: str = ""  # the backfill rule, shown in the asset's metadata
    lookback_days: int = 0  # the schedule asks this many past days again every day (late, restated data)
    switch: Callable[[], str | None] | None = None  # why the extraction is switched off, or None

    def unreachable(self, day: date, today: date) -> str | None:
        """Why Amazon cannot serve `day` (the partition is then left as it is), or None."""
        if day > today:
            return f"{day} is in the future"
        off = self.switch() if self.switch else None
        if off:
            return off
        if self.snapshot and day != today:
            return f"{self.name} is a snapshot: Amazon serves only the present, so only {today} can be taken"
        if self.history_days is not None and (today - day).days >= self.history_days:
            return f"{self.name} reaches back {self.history_days} days; {day} is older"
        return None


EXTRACTIONS: dict[str, Extraction] = {
    e.name: e
    for e in (
        Extraction("orders", (ds.ORDERS,), report_fetch(ds.ORDERS.report_type), "Reports API 2021-06-30",
                   rule="one report per marketplace and UTC purchase day"),
        Extraction("settlements", (ds.SETTLEMENTS,), _settlements_fetch, "Reports API 2021-06-30 (getReports)",
                   history_days=SETTLEMENT_RETENTION.days,
                   rule="settlement reports cannot be requested: those published on the day are listed and "
                        "downloaded; Amazon keeps them 90 days"),
        Extraction("financial_events", (ds.FINANCIAL_EVENTS,), _finances_fetch, "Finances v0",
                   rule="one listFinancialEvents window per UTC posted day (Amazon allows at most 180 days "
                        f"per window, ending 2 minutes before now); deprecated, removed {FINANCES_V0_REMOVAL}, "
                        f"runs while {FINANCES_V0_SWITCH}=on",
                   switch=_v0_switched_off),
        Extraction("finance_transactions", (ds.FINANCE_TRANSACTIONS,), _transactions_fetch, "Finances 2024-06-19",
                   lookback_days=FINANCES_LOOKBACK_DAYS,
                   rule="one listTransactions window per marketplace and UTC posted day; the last "
                        f"{FINANCES_LOOKBACK_DAYS} days are asked again every day (deferred money is released "
                        "and restated later)"),
        Extraction("financial_event_groups", (ds.FINANCIAL_EVENT_GROUPS,), _event_groups_fetch, "Finances v0",
                   lookback_days=GROUP_LOOKBACK_DAYS,
                   rule="one listFinancialEventGroups window per UTC day the groups started; the last "
                        f"{GROUP_LOOKBACK_DAYS} days are asked again every day (a group closes 14 days after it "
                        "starts and is paid out 2 days later)"),
        Extraction("inventory_snapshots", (ds.INVENTORY_SNAPSHOTS,),
                   report_fetch(ds.INVENTORY_SNAPSHOTS.report_type, snapshot=True), "Reports API 2021-06-30",
                   snapshot=True, rule="snapshot of today"),
        Extraction("inventory_summaries", (ds.INVENTORY_SUMMARIES,), _inventory_fetch, "FBA Inventory v1",
                   snapshot=True, rule="snapshot of today"),
        Extraction("inbound_shipments", (ds.INBOUND_SHIPMENTS,), _inbound_fetch, "Fulfillment Inbound v0",
                   snapshot=True, rule="snapshot of today: shipments updated in the last 90 days"),
        Extraction("listings", (ds.LISTINGS,), report_fetch(ds.LISTINGS.report_type, snapshot=True),
                   "Reports API 2021-06-30", snapshot=True, rule="snapshot of today"),
        Extraction("estimated_fees", (ds.ESTIMATED_FEES,),
                   report_fetch(ds.ESTIMATED_FEES.report_type, snapshot=True), "Reports API 2021-06-30",
                   snapshot=True, rule="snapshot of today (report window: the last 72 hours)"),
        Extraction("sales_traffic", (ds.SALES_TRAFFIC_BY_DATE, ds.SALES_TRAFFIC_BY_SKU),
                   report_fetch(ds.SALES_TRAFFIC_BY_DATE.report_type,
                                options={"dateGranularity": "DAY", "asinGranularity": "SKU"}),
                   "Reports API 2021-06-30", history_days=730,
                   rule="one report per marketplace and UTC day; Amazon serves two years"),
        Extraction("fulfilled_shipments", (ds.FULFILLED_SHIPMENTS,), report_fetch(ds.FULFILLED_SHIPMENTS.report_type),
                   "Reports API 2021-06-30",
                   rule="one report per marketplace and UTC shipment day (Amazon allows one month per report)"),
        Extraction("storage_fees", (ds.STORAGE_FEES,),
                   report_fetch(ds.STORAGE_FEES.report_type, window=recent_months_window), "Reports API 2021-06-30",
                   snapshot=True,
                   rule="snapshot of today, once a day: the storage-fee report of the last two months (a month is "
                        "charged early in the next; the report is by month_of_charge, never per day)"),
        Extraction("reimbursements", (ds.REIMBURSEMENTS,), report_fetch(ds.REIMBURSEMENTS.report_type),
                   "Reports API 2021-06-30", rule="one report per marketplace and UTC approval day"),
        Extraction("customer_returns", (ds.CUSTOMER_RETURNS,), report_fetch(ds.CUSTOMER_RETURNS.report_type),
                   "Reports API 2021-06-30", rule="one report per marketplace and UTC return day"),
        Extraction("inventory_ledger", (ds.INVENTORY_LEDGER,),
                   report_fetch(ds.INVENTORY_LEDGER.report_type,
                                options={"aggregatedByTimePeriod": "DAILY", "aggregateByLocation": "COUNTRY"}),
                   "Reports API 2021-06-30",
                   rule="one report per marketplace and UTC day (summary view, daily, by country); a day is "
                        "in the ledger once it is over"),
    )
}


def extraction_of(dataset: Dataset) -> Extraction:
    return next(e for e in EXTRACTIONS.values() if dataset in e.datasets)


# -- land -------------------------------------------------------------------------------------------------

LANDED_GZIP_LEVEL = 1  # the landed copy is re-compressed while it streams; level 1 keeps that cheap


def land_document(
    vault: Vault, landing: LandingZone, tenant_id: str, folder: str, partition: str, document: ReportDocument
) -> str:
    """Encrypt `document` (already cut by the PII firewall) under a fresh data key into the landing zone."""
    data_key = vault.new_data_key(tenant_id)
    header = {
        "wrapped_key": data_key.wrapped,
        "tenant_id": tenant_id,
        "dataset": folder,
        "partition": partition,
        "report_type": document.report_type,
        "report_id": document.report_id,
        "document_id": document.document_id,
        "charset": document.charset,
        "context": document.context,
        "sha256_gzip": hashlib.sha256(document.compressed).hexdigest(),
        "landed_at": datetime.now(UTC).isoformat(),
    }
    key = document_key(tenant_id, folder, partition, document.document_id)
    landing.put(key, seal(document.compressed, data_key.plaintext, header))
    return key


def read_landed(vault: Vault, landing: LandingZone, key: str) -> ReportDocument:
    blob = landing.get(key)
    header, _, _ = read_header(blob)
    data_key = vault.unwrap_data_key(header["tenant_id"], header["wrapped_key"])
    compressed = open_sealed(blob, data_key)
    return ReportDocument(
        header["report_type"], header["report_id"], header["document_id"], header["charset"], compressed,
        header.get("context") or {},
    )


# -- load -------------------------------------------------------------------------------------------------


def parse_context(document: ReportDocument, partition: str) -> dict:
    context = dict(document.context)
    context.setdefault("snapshot_at", context.get("created_time"))
    context["day"] = partition
    if context.get("marketplace_id"):
        context.setdefault("currency", currency_of(context["marketplace_id"]))
    return context


def parse_json(document: ReportDocument, dataset: Dataset, partition: str) -> ParsedDocument:
    records = list(FLATTENERS[dataset.name](load_json_document(decode(document))))
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


# -- the partition, end to end ----------------------------------------------------------------------------


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
    today = today or datetime.now(UTC).date()
    refuse_beyond_cap([d.name for d in extraction.datasets], day, today)
    partition = day.isoformat()
    outcomes = [PartitionOutcome(tenant.tenant_id, d.name, partition) for d in extraction.datasets]
    reason = extraction.unreachable(day, today)
    if reason:
        for outcome in outcomes:
            outcome.skipped = reason
        return outcomes
    prefix = f"{tenant.tenant_id}/{extraction.name}/{partition}"
    earlier = set(landing.list(prefix))
    documents = extraction.fetch(seller, tenant, day)
    landed = load_and_land(
        conn=conn, vault=vault, landing=landing, tenant_id=tenant.tenant_id, extraction=extraction,
        partition=partition, documents=documents, outcomes=outcomes,
    )
    # The partition now stands on the new documents; older copies would double it on replay.
    for key in earlier - set(landed):
        landing.delete(key)
    return outcomes


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
