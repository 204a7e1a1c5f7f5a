"""getReports: filters, pages and the nextToken that must come back as the only query parameter."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json

from starlette.datastructures import QueryParams

from ..context import Sandbox
from ..errors import invalid_input
from ..world import to_utc
from . import lifecycle
from .lifecycle import RETENTION

STATUSES = {"CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE"}


def _csv(params: QueryParams, name: str) -> list[str] | None:
    values = [v for raw in params.getlist(name) for v in raw.split(",") if v]
    return values or None


def _token_key(sandbox: Sandbox) -> bytes:
    return hashlib.sha256(b"reports-next-token|" + sandbox.state.secret).digest()


def _encode_token(sandbox: Sandbox, query: dict) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(query, separators=(",", ":")).encode()).decode()
    sig = hmac.new(_token_key(sandbox), payload.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{payload}.{sig}"


def _decode_token(sandbox: Sandbox, token: str, seller_id: str) -> dict:
    payload, _, sig = token.partition(".")
    good = hmac.new(_token_key(sandbox), payload.encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(sig, good):
        raise invalid_input("Invalid nextToken.")
    query = json.loads(base64.urlsafe_b64decode(payload))
    if query.get("seller") != seller_id:
        raise invalid_input("Invalid nextToken.")
    return query


def get_reports(sandbox: Sandbox, seller: dict, params: QueryParams) -> dict:
    now = dt.datetime.now(dt.UTC)
    if "nextToken" in params:
        if len(params.keys()) > 1 or len(params.getlist("nextToken")) > 1:
            raise invalid_input(
                "nextToken must be the only parameter when it is specified.",
                "Send the token alone to get the next page.",
            )
        query = _decode_token(sandbox, params["nextToken"], seller["seller_id"])
    else:
        report_types = _csv(params, "reportTypes")
        if not report_types:
            raise invalid_input("Either reportTypes or nextToken is required.")
        statuses = _csv(params, "processingStatuses")
        if statuses and not set(statuses) <= STATUSES:
            raise invalid_input(f"Invalid processingStatuses {sorted(set(statuses) - STATUSES)}.")
        try:
            page_size = int(params.get("pageSize", 10))
        except ValueError:
            raise invalid_input("pageSize must be an integer.") from None
        if not 1 <= page_size <= 100:
            raise invalid_input("pageSize must be between 1 and 100.")
        try:
            since = to_utc(params["createdSince"]) if "createdSince" in params else now - RETENTION
            until = to_utc(params["createdUntil"]) if "createdUntil" in params else now
        except ValueError:
            raise invalid_input("createdSince and createdUntil must be ISO 8601 date-times.") from None
        query = {
            "seller": seller["seller_id"],
            "types": report_types,
            "statuses": statuses,
            "mkts": _csv(params, "marketplaceIds"),
            "size": page_size,
            "since": since.isoformat(),
            "until": until.isoformat(),
            "offset": 0,
        }
    matches = _matching(sandbox, seller, query, now)
    offset, size = query["offset"], query["size"]
    page = matches[offset : offset + size]
    body: dict = {"reports": page}
    if offset + size < len(matches):
        body["nextToken"] = _encode_token(sandbox, {**query, "offset": offset + size})
    return body


def _matching(sandbox: Sandbox, seller: dict, query: dict, now: dt.datetime) -> list[dict]:
    since, until = to_utc(query["since"]), to_utc(query["until"])
    floor = now - RETENTION
    out = []
    for report in lifecycle.seller_reports(sandbox, seller):
        created = to_utc(report["createdTime"])
        if report["reportType"] not in query["types"] or not (max(since, floor) <= created <= until):
            continue
        if query["mkts"] and not set(query["mkts"]) & set(report["marketplaceIds"]):
            continue
        view = lifecycle.view(sandbox, report)
        if query["statuses"] and view["processingStatus"] not in query["statuses"]:
            continue
        out.append(view)
    out.sort(key=lambda v: (v["createdTime"], v["reportId"]), reverse=True)
    return out
