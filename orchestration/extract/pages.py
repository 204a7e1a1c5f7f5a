"""JSON API answers kept as one landed document: every page of one listing, with when and where it was asked.

The landing zone stores what Amazon said, not what we made of it, so a replay re-flattens the same pages.
"""

from __future__ import annotations

import gzip
import json
import secrets
from datetime import UTC, datetime

from orchestration.extract.reports import ReportDocument


def pages_document(operation: str, pages: list[dict], context: dict, request: dict) -> ReportDocument:
    body = {"operation": operation, "request": request, "context": context, "pages": pages}
    compressed = gzip.compress(json.dumps(body, separators=(",", ":")).encode("utf-8"), mtime=0)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    document_id = f"{operation}-{context.get('marketplace_id', 'all')}-{stamp}-{secrets.token_hex(4)}"
    return ReportDocument(operation, "", document_id, "utf-8", compressed, dict(context))
