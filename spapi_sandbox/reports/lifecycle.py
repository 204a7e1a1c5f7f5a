"""A report's life: validated creation, IN_QUEUE -> IN_PROGRESS -> DONE/CANCELLED/FATAL over scaled time.

The outcome is decided once, when processing time has passed, and stored with the report: DONE with a
document, CANCELLED when the range holds no data (or the caller cancelled it in the queue), FATAL when a
fault says so (with a JSON error document, as Amazon does).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
import uuid
from collections.abc import Callable

from .. import marketplaces
from ..context import Sandbox
from ..errors import invalid_input, not_found
from ..world import to_utc
from .documents import KINDS, SETTLEMENT, ReportKind

QUEUE_SHARE = 0.2  # share of the processing time a report spends IN_QUEUE before IN_PROGRESS
# Amazon refuses a dataStartTime in the future; allow a little clock skew between client and server.
CLOCK_SKEW = dt.timedelta(minutes=2)
_RESOLVE_LOCK = threading.Lock()
RETENTION = dt.timedelta(days=90)  # Amazon keeps reports 90 days


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _parse_time(name: str, value) -> dt.datetime:
    if not isinstance(value, str):
        raise invalid_input(f"{name} must be an ISO 8601 date-time string.")
    try:
        return to_utc(value)
    except ValueError:
        raise invalid_input(f"{name} is not a valid ISO 8601 date-time: {value}") from None


def report_kind(report_type: str) -> ReportKind:
    kind = KINDS.get(report_type)
    if kind is None:
        raise invalid_input(f"Invalid reportType {report_type}.", "See the Report Type Values documentation.")
    return kind


def create(sandbox: Sandbox, seller: dict, body, admit: Callable[[str], None] | None = None) -> dict:
    """Validate a CreateReportSpecification and queue the report; returns the stored record.

    `admit(report_type)` runs once the request is valid, before the report is queued: an application cap that
    refuses it (429) leaves nothing behind, and an invalid request (400) does not spend the cap."""
    if not isinstance(body, dict):
        raise invalid_input("The request body must be a CreateReportSpecification JSON object.")
    report_type = body.get("reportType")
    if not isinstance(report_type, str) or not report_type:
        raise invalid_input("reportType is required.")
    kind = report_kind(report_type)
    if not kind.creatable:
        raise invalid_input(
            f"Report type {report_type} cannot be requested.",
            "Amazon generates this report on its own schedule; list it with getReports.",
        )
    mkts = body.get("marketplaceIds")
    if not isinstance(mkts, list) or not 1 <= len(mkts) <= 25 or not all(isinstance(m, str) for m in mkts):
        raise invalid_input("marketplaceIds must be a list of 1 to 25 marketplace ids.")
    if len(mkts) > kind.max_marketplaces:
        raise invalid_input(f"Report type {report_type} accepts only {kind.max_marketplaces} marketplaceId.")
    for m in mkts:
        if m not in marketplaces.MARKETPLACES:
            raise invalid_input(f"Invalid marketplaceId {m}.")
        if m not in seller["marketplace_ids"]:
            raise invalid_input(f"The seller is not registered in marketplace {m}.")
    now = dt.datetime.now(dt.UTC)
    end = _parse_time("dataEndTime", body["dataEndTime"]) if body.get("dataEndTime") else now
    start = (
        _parse_time("dataStartTime", body["dataStartTime"])
        if body.get("dataStartTime")
        else end - dt.timedelta(days=kind.default_days)
    )
    if start > now + CLOCK_SKEW:
        raise invalid_input("dataStartTime must be prior to or equal to the current date and time.")
    if end < start:
        raise invalid_input("dataEndTime must be after dataStartTime.")
    options = body.get("reportOptions")
    if options is not None and not (
        isinstance(options, dict) and all(isinstance(v, str) for v in options.values())
    ):
        raise invalid_input("reportOptions must be an object of string values.")
    for name, allowed in (kind.options or {}).items():
        if options and name in options and options[name] not in allowed:
            raise invalid_input(f"Invalid reportOptions {name}: {options[name]}. Allowed: {', '.join(allowed)}.")
    if admit is not None:
        admit(report_type)
    record = {
        "reportId": sandbox.state.next_report_id(),
        "reportType": report_type,
        "sellerId": seller["seller_id"],
        "marketplaceIds": list(mkts),
        "dataStartTime": iso(start),
        "dataEndTime": iso(min(end, now)),
        "createdTime": iso(now),
        "createdEpoch": time.time(),
        "processingSeconds": sandbox.config.real_seconds(sandbox.config.report_processing_seconds),
        "reportOptions": options or {},
        "cancelled": False,
        "outcome": None,
        "reportDocumentId": None,
        "contentFaults": [],
        "charset": None,
    }
    sandbox.state.put_report(record)
    return record


def _document_id(sandbox: Sandbox, report: dict) -> str:
    region = marketplaces.get(report["marketplaceIds"][0]).region
    digest = hashlib.sha256(
        f"doc|{sandbox.state.seed}|{report['sellerId']}|{report['reportId']}".encode()
    ).digest()
    return f"amzn1.spdoc.1.4.{region}.{uuid.UUID(bytes=digest[:16])}.T{digest[16:20].hex().upper()}"


def _resolve(sandbox: Sandbox, report: dict) -> dict:
    """Decide DONE / CANCELLED / FATAL once processing time is over; stored so it never changes."""
    kind = KINDS[report["reportType"]]
    faults = sandbox.faults.report_faults(report["sellerId"], report["reportType"])
    limit = kind.limit(report) if kind.limit else None
    if "fatal_report" in faults or limit:
        report["outcome"] = "FATAL"
        report["reportDocumentId"] = _document_id(sandbox, report)
        if limit:
            report["errorDetails"] = limit
    elif not kind.has_data(sandbox.state.world(), report):
        report["outcome"] = "CANCELLED"
    else:
        report["outcome"] = "DONE"
        report["reportDocumentId"] = _document_id(sandbox, report)
        report["contentFaults"] = [f for f in faults if f != "cp1252"]
        report["charset"] = "Cp1252" if "cp1252" in faults else kind.charset(report)
    sandbox.state.put_report(report)
    return report


def status(sandbox: Sandbox, report: dict) -> tuple[str, float | None, float | None]:
    """(processingStatus, processing start epoch, processing end epoch) now; resolves the outcome if due."""
    created, total = report["createdEpoch"], report["processingSeconds"]
    started = created + total * QUEUE_SHARE
    if report["cancelled"]:
        return "CANCELLED", None, None
    elapsed = time.time() - created
    if elapsed < total * QUEUE_SHARE:
        return "IN_QUEUE", None, None
    if elapsed < total:
        return "IN_PROGRESS", started, None
    if report["outcome"] is None:
        with _RESOLVE_LOCK:  # decide once, even when polls race
            report = sandbox.state.report(report["reportId"]) or report
            if report["outcome"] is None:
                report = _resolve(sandbox, report)
    return report["outcome"], started, created + total


def view(sandbox: Sandbox, report: dict) -> dict:
    """The report as the Report model describes it."""
    state, started, ended = status(sandbox, report)
    if state not in ("IN_QUEUE", "IN_PROGRESS"):
        report = sandbox.state.report(report["reportId"]) or report
    out = {
        "reportId": report["reportId"],
        "reportType": report["reportType"],
        "dataStartTime": report["dataStartTime"],
        "dataEndTime": report["dataEndTime"],
        "marketplaceIds": report["marketplaceIds"],
        "createdTime": report["createdTime"],
        "processingStatus": state,
    }
    if report.get("reportScheduleId"):
        out["reportScheduleId"] = report["reportScheduleId"]
    if started is not None:
        out["processingStartTime"] = iso(dt.datetime.fromtimestamp(started, dt.UTC))
    if ended is not None:
        out["processingEndTime"] = iso(dt.datetime.fromtimestamp(ended, dt.UTC))
    if state in ("DONE", "FATAL") and report.get("reportDocumentId"):
        out["reportDocumentId"] = report["reportDocumentId"]
    return out


def owned(sandbox: Sandbox, seller_id: str, report_id: str) -> dict:
    report = sandbox.state.report(report_id)
    if report is None or report["sellerId"] != seller_id:
        raise not_found(f"Report {report_id} was not found.")
    return report


def cancel(sandbox: Sandbox, seller_id: str, report_id: str) -> None:
    report = owned(sandbox, seller_id, report_id)
    state, _, _ = status(sandbox, report)
    if state != "IN_QUEUE":
        raise invalid_input(
            f"Report {report_id} cannot be cancelled: only IN_QUEUE reports can be "
            f"cancelled and it is {state}."
        )
    report["cancelled"] = True
    sandbox.state.put_report(report)


def by_document(sandbox: Sandbox, seller_id: str | None, document_id: str) -> dict | None:
    for report in sandbox.state.reports():
        if report.get("reportDocumentId") == document_id and seller_id in (None, report["sellerId"]):
            return report
    return None


def seller_reports(sandbox: Sandbox, seller: dict) -> list[dict]:
    """Every stored report of the seller: requested ones and those Amazon made on its schedule."""
    _publish_settlements(sandbox, seller)
    return [r for r in sandbox.state.reports() if r["sellerId"] == seller["seller_id"]]


def _publish_settlements(sandbox: Sandbox, seller: dict) -> None:
    """Store the settlement reports published within the retention window that are not stored yet."""
    now = dt.datetime.now(dt.UTC)
    world = sandbox.state.world()
    new = []
    for s in world.settlements(seller["seller_id"], now - RETENTION):
        report_id = str(20_000_000_000 + int(s.settlement_id) % 10_000_000_000)
        if sandbox.state.report(report_id):
            continue
        record = {
            "reportId": report_id,
            "reportType": SETTLEMENT,
            "sellerId": seller["seller_id"],
            "marketplaceIds": [s.marketplace_id],
            "dataStartTime": iso(s.start),
            "dataEndTime": iso(s.end),
            "createdTime": iso(s.published),
            "createdEpoch": s.published.timestamp(),
            "processingSeconds": 0.0,
            "reportOptions": {},
            "cancelled": False,
            "outcome": "DONE",
            "contentFaults": [],
            "charset": "UTF-8",
            "settlement": {
                "settlementId": s.settlement_id,
                "marketplaceId": s.marketplace_id,
                "start": iso(s.start),
                "end": iso(s.end),
            },
        }
        record["reportDocumentId"] = _document_id(sandbox, record)
        new.append(record)
    if new:
        sandbox.state.put_reports(new)
