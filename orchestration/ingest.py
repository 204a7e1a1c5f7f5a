"""Carries one (tenant, dataset, day) partition from SP-API to the raw table, through the landing zone.

extract (report flow) -> land (encrypt the gzip document under a fresh data key) -> load (parse by
header, PII firewall, COPY, replace the partition). Replay skips the API and reads the landing zone.
Dagster-free, so it can be tested and benchmarked on its own.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import polars as pl
import psycopg

from orchestration.extract.connection import SellerConnection
from orchestration.extract.reports import ReportDocument, ReportRequester
from orchestration.land.envelope import open_sealed, read_header, seal
from orchestration.land.landing_zone import LandingZone, document_key
from orchestration.load.datasets import Dataset
from orchestration.load.parse import ParsedDocument, parse_document
from orchestration.load.raw_tables import LoadResult, replace_partition
from orchestration.secrets.vault import Vault
from orchestration.tenants.registry import Tenant


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
    rows_frame: pl.DataFrame | None = None  # what was loaded, for the quality suite

    def metadata(self) -> dict:
        return {
            "rows": self.load.rows if self.load else 0,
            "quarantined_rows": self.load.quarantined if self.load else 0,
            "duplicate_rows_removed": self.load.duplicates_removed if self.load else 0,
            "bytes_downloaded": self.bytes_downloaded,
            "report_ids": ", ".join(self.report_ids) or "none (Amazon had no data)",
            "columns_dropped": ", ".join(sorted(set(self.dropped_columns))) or "none",
            "optional_columns_missing": ", ".join(sorted(set(self.missing_optional))) or "none",
        }


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


def land_document(
    vault: Vault, landing: LandingZone, tenant_id: str, dataset: Dataset, partition: str, document: ReportDocument
) -> str:
    data_key = vault.new_data_key(tenant_id)
    header = {
        "wrapped_key": data_key.wrapped,
        "tenant_id": tenant_id,
        "dataset": dataset.name,
        "partition": partition,
        "report_type": document.report_type,
        "report_id": document.report_id,
        "document_id": document.document_id,
        "charset": document.charset,
        "sha256_gzip": hashlib.sha256(document.compressed).hexdigest(),
        "landed_at": datetime.now(UTC).isoformat(),
    }
    key = document_key(tenant_id, dataset.name, partition, document.document_id)
    landing.put(key, seal(document.compressed, data_key.plaintext, header))
    return key


def read_landed(vault: Vault, landing: LandingZone, key: str) -> ReportDocument:
    blob = landing.get(key)
    header, _, _ = read_header(blob)
    data_key = vault.unwrap_data_key(header["tenant_id"], header["wrapped_key"])
    compressed = open_sealed(blob, data_key)
    return ReportDocument(
        header["report_type"], header["report_id"], header["document_id"], header["charset"], compressed
    )


def _decode(document: ReportDocument) -> str:
    raw = gzip.decompress(document.compressed)
    try:
        return raw.decode(document.charset)
    except UnicodeDecodeError:
        # Amazon labels some EU documents UTF-8 while sending Cp1252; never lose the partition over it.
        return raw.decode("cp1252", errors="replace")


def _parse_all(documents: list[ReportDocument], dataset: Dataset, where: str, outcome: PartitionOutcome):
    parsed_parts: list[ParsedDocument] = []
    for document in documents:
        parsed = parse_document(_decode(document), dataset, where)
        parsed_parts.append(parsed)
        outcome.dropped_columns += parsed.dropped_columns
        outcome.missing_optional += parsed.missing_optional
    if not parsed_parts:
        return None
    return ParsedDocument(
        rows=pl.concat([p.rows for p in parsed_parts]),
        quarantine=pl.concat([p.quarantine for p in parsed_parts]),
        dropped_columns=outcome.dropped_columns,
        missing_optional=outcome.missing_optional,
    )


def ingest_report_partition(
    *,
    tenant: Tenant,
    dataset: Dataset,
    day: date,
    vault: Vault,
    seller: SellerConnection,
    landing: LandingZone,
    conn: psycopg.Connection,
) -> PartitionOutcome:
    """Request the dataset's report for `day` in each marketplace, land it encrypted, load it."""
    partition = day.isoformat()
    outcome = PartitionOutcome(tenant.tenant_id, dataset.name, partition)
    start, end = day_bounds(day)
    earlier = set(landing.list(f"{tenant.tenant_id}/{dataset.name}/{partition}"))
    documents: list[ReportDocument] = []
    # Ask for every marketplace's report first, then collect them: Amazon processes them side by side.
    requested = []
    for marketplace_id in tenant.marketplace_ids:
        requester = ReportRequester(seller, marketplace_id)
        requested.append((requester, requester.create(dataset.report_type, start, end)))
    for requester, report_id in requested:
        document = requester.collect(report_id, dataset.report_type, dataset.default_charset)
        if document is None:
            continue
        documents.append(document)
        outcome.report_ids.append(document.report_id)
        outcome.bytes_downloaded += len(document.compressed)
        outcome.landed_keys.append(land_document(vault, landing, tenant.tenant_id, dataset, partition, document))
    _load(conn, tenant.tenant_id, dataset, partition, documents, outcome)
    # The partition now stands on the new documents; older copies would double it on replay.
    for key in earlier - set(outcome.landed_keys):
        landing.delete(key)
    return outcome


def replay_partition(
    *, tenant_id: str, dataset: Dataset, partition: str, vault: Vault, landing: LandingZone, conn: psycopg.Connection
) -> PartitionOutcome:
    """Rebuild a raw partition from the landing zone alone, without calling the API."""
    outcome = PartitionOutcome(tenant_id, dataset.name, partition)
    keys = landing.list(f"{tenant_id}/{dataset.name}/{partition}")
    documents = [read_landed(vault, landing, key) for key in keys]
    outcome.landed_keys = keys
    outcome.report_ids = [d.report_id for d in documents]
    return _load(conn, tenant_id, dataset, partition, documents, outcome)


def _load(conn, tenant_id, dataset, partition, documents, outcome) -> PartitionOutcome:
    where = f"tenant {tenant_id}, partition {partition}"
    parsed = _parse_all(documents, dataset, where, outcome)
    outcome.load = replace_partition(
        conn, tenant_id, dataset, partition, parsed, ", ".join(outcome.report_ids) or None
    )
    outcome.rows_frame = parsed.rows.unique(maintain_order=True) if parsed is not None else None
    return outcome
