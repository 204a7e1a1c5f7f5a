"""Requests a report from the Reports API 2021-06-30 and downloads its document.

createReport -> getReport (poll until DONE / CANCELLED / FATAL) -> getReportDocument -> download.
The client library neither checks the download's HTTP status nor its charset, so this module does the
download itself with httpx: status checked, charset taken from Content-Type, gzip verified, and a fresh
presigned URL fetched when one has expired.
"""

from __future__ import annotations

import gzip
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from sp_api.api import Reports
from sp_api.auth import exceptions as auth_exceptions
from sp_api.base import exceptions as api_exceptions

from orchestration.extract.connection import SellerConnection, tls_context
from orchestration.extract.errors import (
    DocumentError,
    ReportFatal,
    SellerRevoked,
    TransientApiError,
)
from orchestration.extract.gzip_stream import DamagedDocument, check_gzip
from orchestration.extract.ratelimit import rate_scale
from orchestration.extract.retries import with_retries

log = logging.getLogger(__name__)

TERMINAL = {"DONE", "CANCELLED", "FATAL"}


@dataclass(frozen=True)
class ReportDocument:
    report_type: str
    report_id: str
    document_id: str
    charset: str
    compressed: bytes  # gzip bytes exactly as downloaded
    # Where and when the document applies: marketplace_id, created_time (the snapshot moment), currency.
    context: dict = field(default_factory=dict)

    def text(self) -> str:
        return gzip.decompress(self.compressed).decode(self.charset)


def call_api(
    operation: str,
    fn: Callable,
    *args,
    attempts: int = 8,
    forget_token: Callable[[], None] | None = None,
    connection: SellerConnection | None = None,
    report_type: str | None = None,
    **kwargs,
):
    """Call one SP-API operation; retry throttling and server errors with jittered backoff.

    With `connection`, every attempt first takes a token from the seller's bucket for `operation` and, for a
    call an application-wide cap counts (`report_type` names the report of a createReport), the application's
    slot (ratelimit.py: shared by every worker); a 403 forgets that seller's cached access token. A 403 is
    retried once with a freshly issued access token before the seller is called revoked: only a 403 on a
    brand-new token, or LWA's invalid_grant, means revocation.
    """
    forbidden_once = False
    if connection is not None and forget_token is None:
        forget_token = connection.forget_access_token

    def once():
        nonlocal forbidden_once
        if connection is not None:
            connection.acquire(operation, report_type)
        try:
            return fn(*args, **kwargs)
        except auth_exceptions.AuthorizationError as exc:
            if getattr(exc, "error_code", None) == "invalid_grant":
                raise SellerRevoked(f"{operation}: the seller's authorization is revoked (invalid_grant)") from None
            raise TransientApiError(f"{operation}: LWA refused ({getattr(exc, 'error_code', '?')})") from None
        except api_exceptions.SellingApiForbiddenException:
            if forget_token is not None and not forbidden_once:
                forbidden_once = True
                forget_token()
                raise TransientApiError(f"{operation}: 403 with a cached access token; logging in again") from None
            raise SellerRevoked(f"{operation}: 403 Unauthorized, access denied for this seller") from None
        except (
            api_exceptions.SellingApiRequestThrottledException,
            api_exceptions.SellingApiServerException,
            api_exceptions.SellingApiTemporarilyUnavailableException,
            api_exceptions.SellingApiGatewayTimeoutException,
        ) as exc:
            raise TransientApiError(f"{operation}: {type(exc).__name__}") from None
        except httpx.TransportError as exc:
            raise TransientApiError(f"{operation}: network error {type(exc).__name__}") from None
        except api_exceptions.SellingApiException as exc:
            code = getattr(exc, "code", None)
            if isinstance(code, int) and (code == 429 or code >= 500):
                raise TransientApiError(f"{operation}: HTTP {code}") from None
            raise

    return with_retries(once, on=TransientApiError, attempts=attempts, max_wait=60)


def parse_charset(content_type: str | None, default: str) -> str:
    """Charset from a Content-Type header; Amazon's `Cp1252` is Python's `cp1252`."""
    if content_type:
        for part in content_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                name = value.strip().strip('"').lower()
                return {"cp1252": "cp1252", "windows-1252": "cp1252", "iso-8859-1": "latin-1"}.get(name, name)
    return default


class ReportRequester:
    """Runs the report flow for one seller and marketplace."""

    def __init__(
        self,
        connection: SellerConnection,
        marketplace_id: str,
        *,
        poll_first: float | None = None,
        poll_max: float | None = None,
        timeout_s: float = 3600.0,
    ) -> None:
        # getReport is polled after 0.5 s, then 25 % later each time, at most every 10 s: a finished report
        # is seen at most a quarter of its processing time late. Like the rate-limit buckets, the intervals
        # follow RETKEE_SPAPI_RATE_SCALE (1.0: Amazon's own clock).
        scale = rate_scale()
        self._connection = connection
        self._marketplace_id = marketplace_id
        self._reports = connection.client(Reports, marketplace_id)
        self._poll_first = poll_first if poll_first is not None else 0.5 * scale
        self._poll_max = poll_max if poll_max is not None else 10.0 * scale
        self._timeout_s = timeout_s

    def request(
        self,
        report_type: str,
        start: datetime,
        end: datetime,
        default_charset: str = "utf-8",
    ) -> ReportDocument | None:
        """Create the report and return its document; None when Amazon has no data (CANCELLED)."""
        return self.collect(self.create(report_type, start, end), report_type, default_charset)

    def create(
        self, report_type: str, start: datetime, end: datetime, options: dict | None = None
    ) -> str:
        """createReport; returns the report id (Amazon processes it in the background)."""
        body = {
            "reportType": report_type,
            "marketplaceIds": [self._marketplace_id],
            "dataStartTime": start.isoformat(),
            "dataEndTime": end.isoformat(),
        }
        if options:
            body["reportOptions"] = dict(options)
        created = call_api("createReport", self._reports.create_report, connection=self._connection,
                           report_type=report_type, **body)
        return created.payload["reportId"]

    def list_done(self, report_type: str, created_since: datetime, created_until: datetime) -> list[dict]:
        """getReports: the DONE reports of a type created in the window, in this marketplace, every page."""
        reports: list[dict] = []
        page = call_api(
            "getReports",
            self._reports.get_reports,
            connection=self._connection,
            reportTypes=[report_type],
            processingStatuses=["DONE"],
            marketplaceIds=[self._marketplace_id],
            createdSince=created_since.isoformat(),
            createdUntil=created_until.isoformat(),
            pageSize=100,
        ).payload
        while True:
            reports += page.get("reports", [])
            token = page.get("nextToken")
            if not token:
                return reports
            # Amazon wants the token as the ONLY query parameter.
            page = call_api(
                "getReports", self._reports.get_reports, connection=self._connection, nextToken=token
            ).payload

    def collect(self, report_id: str, report_type: str, default_charset: str = "utf-8") -> ReportDocument | None:
        """Wait for a created report; its document, or None when Amazon had no data (CANCELLED)."""
        report = self._wait(report_id)
        status = report["processingStatus"]
        if status == "CANCELLED":
            return None
        if status == "FATAL":
            reason = "no error document"
            if report.get("reportDocumentId"):
                body = self.download(report_type, report_id, report["reportDocumentId"], default_charset)
                reason = _fatal_reason(body)
            raise ReportFatal(f"{report_type} report {report_id} FATAL: {reason}")
        document = self.download(report_type, report_id, report["reportDocumentId"], default_charset)
        return self.with_context(document, report)

    def with_context(self, document: ReportDocument, report: dict) -> ReportDocument:
        context = {"marketplace_id": self._marketplace_id, "created_time": report.get("createdTime")}
        return ReportDocument(
            document.report_type, document.report_id, document.document_id, document.charset,
            document.compressed, context,
        )

    def _wait(self, report_id: str) -> dict:
        deadline = time.monotonic() + self._timeout_s
        delay = self._poll_first
        while True:
            report = call_api("getReport", self._reports.get_report, report_id, connection=self._connection).payload
            if report["processingStatus"] in TERMINAL:
                return report
            if time.monotonic() > deadline:
                raise TransientApiError(f"report {report_id} still {report['processingStatus']} after timeout")
            time.sleep(delay)
            delay = min(delay * 1.25, self._poll_max)

    def download(self, report_type: str, report_id: str, document_id: str, default_charset: str) -> ReportDocument:
        """Fetch the document, with a fresh presigned URL on every attempt (they expire after 5 minutes)."""

        def once() -> ReportDocument:
            meta = call_api(
                "getReportDocument",
                self._reports.get_report_document,
                document_id,
                download=False,
                connection=self._connection,
            ).payload
            with httpx.Client(verify=tls_context(self._connection.ca_file), timeout=300) as http:
                try:
                    response = http.get(meta["url"])
                except httpx.TransportError as exc:
                    raise TransientApiError(f"download of {document_id}: {type(exc).__name__}") from None
            if response.status_code == 403:
                raise TransientApiError(f"download of {document_id}: URL expired (403)")
            if response.status_code >= 500:
                raise TransientApiError(f"download of {document_id}: HTTP {response.status_code}")
            if response.status_code != 200:
                raise DocumentError(f"download of {document_id}: HTTP {response.status_code}")
            charset = parse_charset(response.headers.get("content-type"), default_charset)
            try:
                "".encode(charset)
            except LookupError:
                raise DocumentError(f"document {document_id}: unknown charset {charset!r}") from None
            body = response.content
            if meta.get("compressionAlgorithm") == "GZIP":
                try:
                    check_gzip(body)  # in pieces: a 1M-row report is never inflated whole here
                except DamagedDocument:
                    raise TransientApiError(f"document {document_id}: damaged gzip") from None
            else:
                body = gzip.compress(body, mtime=0)
            return ReportDocument(report_type, report_id, document_id, charset, body)

        return with_retries(once, on=TransientApiError, attempts=6, max_wait=30)


def _fatal_reason(document: ReportDocument) -> str:
    try:
        body = json.loads(document.text())
        return str(body.get("errorDetails", body))[:500]
    except (ValueError, UnicodeDecodeError):
        return "unreadable error document"
