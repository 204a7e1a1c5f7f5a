"""Landing a document: encrypted under a fresh data key into the landing zone, and read back for a replay.

The landed copy is the firewalled text (load/pipeline.py cuts it while it streams), sealed with the
tenant's data key (land/envelope.py); its header names what it is, so a partition can be rebuilt from the
landing zone alone.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from orchestration.extract.reports import ReportDocument
from orchestration.land.envelope import open_sealed, read_header, seal
from orchestration.land.landing_zone import LandingZone, document_key
from orchestration.secrets.vault import Vault

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
