"""JSON API answers kept as one landed document: every page of one listing, with when and where it was asked.

The landing zone stores what Amazon said, not what we made of it, so a replay re-flattens the same pages.
"""

from __future__ import annotations

import gzip
import json
import secrets
from datetime import UTC, datetime

from orchestration.extract.reports import ReportDocument, call_api


def pages_document(operation: str, pages: list[dict], context: dict, request: dict) -> ReportDocument:
    body = {"operation": operation, "request": request, "context": context, "pages": pages}
    compressed = gzip.compress(json.dumps(body, separators=(",", ":")).encode("utf-8"), mtime=0)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    document_id = f"{operation}-{context.get('marketplace_id', 'all')}-{stamp}-{secrets.token_hex(4)}"
    return ReportDocument(operation, "", document_id, "utf-8", compressed, dict(context))


def all_pages(operation: str, method, token_name: str, *, connection, **arguments) -> list[dict]:
    """Every page of a token-paged operation: the same arguments each time, plus the token the last page gave
    (`NextToken` in Finances v0, `nextToken` in 2024-06-19); each call goes through call_api's limits and
    retries."""
    pages: list[dict] = []
    token = None
    while True:
        extra = {token_name: token} if token else {}
        payload = call_api(operation, method, connection=connection, **arguments, **extra).payload
        pages.append(payload)
        token = (payload or {}).get(token_name)
        if not token:
            return pages
