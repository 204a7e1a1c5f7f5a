"""Data-subject access: everything we hold about one tenant, as files a seller can open, with a manifest.

Written: every table and view of the tenant's schemas (raw, staging, marts, quarantine), its registry row
and lifecycle history, and a list of its landing-zone documents (keys and envelope checksums; they hold the
same reports as the raw tables, encrypted, and are not decrypted for export). Each file is CSV (header
row, exact text of every value) or Parquet; `manifest.json` gives each file's row count and SHA-256.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import psycopg
from psycopg import sql

from orchestration.errors import RetkeeError
from orchestration.land.landing_zone import LandingZone
from orchestration.retain.erasure import tenant_relations
from orchestration.warehouse.schemas import check_tenant_id

FORMATS = ("csv", "parquet")


class ExportError(RetkeeError, ValueError):
    """An export that cannot be made (erased tenant, unknown format, non-empty target)."""


@dataclass(frozen=True)
class ExportedFile:
    name: str
    source: str
    rows: int
    sha256: str


def _copy_csv(conn: psycopg.Connection, query: sql.Composable) -> bytes:
    buffer = io.BytesIO()
    with conn.cursor() as cur:
        statement = sql.SQL("copy ({}) to stdout with (format csv, header true)").format(query)
        with cur.copy(statement) as copy:
            for chunk in copy:
                buffer.write(chunk)
    return buffer.getvalue()


def _write(out_dir: Path, stem: str, csv_bytes: bytes, fmt: str, source: str) -> ExportedFile:
    frame = pl.read_csv(io.BytesIO(csv_bytes), infer_schema=False) if csv_bytes.strip() else pl.DataFrame()
    path = out_dir / f"{stem}.{fmt}"
    if fmt == "csv":
        path.write_bytes(csv_bytes)
    else:
        frame.write_parquet(path)
    return ExportedFile(path.name, source, frame.height, hashlib.sha256(path.read_bytes()).hexdigest())


def export_tenant(conn: psycopg.Connection, landing: LandingZone, tenant_id: str, out_dir: Path,
                  fmt: str = "csv") -> dict:
    """Write the export into `out_dir` (created; must be empty) and return the manifest."""
    check_tenant_id(tenant_id)
    if fmt not in FORMATS:
        raise ExportError(f"format must be one of {', '.join(FORMATS)}")
    with conn.cursor() as cur:
        cur.execute("select status from control.tenants where tenant_id = %s", (tenant_id,))
        row = cur.fetchone()
    if row is None:
        raise ExportError(f"no tenant {tenant_id}")
    if row[0] == "erased":
        raise ExportError(f"tenant {tenant_id} is erased: we hold nothing about it but its certificate")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ExportError(f"{out_dir} is not empty")
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    files: list[ExportedFile] = []
    # COPY takes no bind parameters; the tenant id is validated above and quoted as a literal.
    tenant = sql.Literal(tenant_id)
    registry = sql.SQL("select * from control.tenants where tenant_id = {}").format(tenant)
    history = sql.SQL("select * from control.tenant_status_history where tenant_id = {} order by id").format(tenant)
    files.append(_write(out_dir, "control.tenants", _copy_csv(conn, registry), fmt, "control.tenants"))
    files.append(_write(out_dir, "control.tenant_status_history", _copy_csv(conn, history), fmt,
                        "control.tenant_status_history"))
    for schema, relation, _kind, _estimate in tenant_relations(conn, tenant_id):
        query = sql.SQL("select * from {}.{}").format(sql.Identifier(schema), sql.Identifier(relation))
        files.append(_write(out_dir, f"{schema}.{relation}", _copy_csv(conn, query), fmt, f"{schema}.{relation}"))
    documents = [
        {"key": key, "envelope_sha256": hashlib.sha256(landing.get(key)).hexdigest()}
        for key in landing.list(tenant_id)
    ]
    conn.commit()
    manifest = {
        "tenant_id": tenant_id,
        "exported_at": datetime.now(UTC).isoformat(),
        "format": fmt,
        "files": [f.__dict__ for f in files],
        "landing_zone_documents": documents,
        "notes": "CSV: exact text of each value; Parquet: the same values as strings. Landing-zone documents are "
                 "the encrypted originals of the raw tables and are listed, not decrypted.",
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
