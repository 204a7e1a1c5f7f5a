"""HTTP routes of the Reports API 2021-06-30 and of the presigned document downloads (the S3 stand-in)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ..context import sandbox_of
from ..errors import not_found
from ..gate import Caller, gate
from . import lifecycle, listing
from .documents import document_gzip, gzip_chunks

router = APIRouter()
DOCUMENT_URL_SECONDS = 300
DOCUMENT_PATH = "/_s3/report-documents/"


@router.post("/reports/2021-06-30/reports", status_code=202)
def create_report(
    caller: Annotated[Caller, Depends(gate("createReport"))], body: Annotated[Any, Body()] = None
):
    record = lifecycle.create(caller.sandbox, caller.seller, body)
    return JSONResponse({"reportId": record["reportId"]}, status_code=202)


@router.get("/reports/2021-06-30/reports")
def get_reports(request: Request, caller: Annotated[Caller, Depends(gate("getReports"))]):
    return listing.get_reports(caller.sandbox, caller.seller, request.query_params)


@router.get("/reports/2021-06-30/reports/{report_id}")
def get_report(report_id: str, caller: Annotated[Caller, Depends(gate("getReport"))]):
    return lifecycle.view(caller.sandbox, lifecycle.owned(caller.sandbox, caller.seller_id, report_id))


@router.delete("/reports/2021-06-30/reports/{report_id}")
def cancel_report(report_id: str, caller: Annotated[Caller, Depends(gate("cancelReport"))]):
    lifecycle.cancel(caller.sandbox, caller.seller_id, report_id)
    return Response(status_code=200)


@router.get("/reports/2021-06-30/documents/{document_id}")
def get_report_document(
    document_id: str, request: Request, caller: Annotated[Caller, Depends(gate("getReportDocument"))]
):
    sandbox = caller.sandbox
    report = lifecycle.by_document(sandbox, caller.seller_id, document_id)
    if report is None:
        raise not_found(f"Report document {document_id} was not found.")
    issued = time.time()
    if sandbox.faults.expired_url(caller.seller_id, report["reportType"]):
        issued -= sandbox.config.real_seconds(DOCUMENT_URL_SECONDS) + 1
    return {
        "reportDocumentId": document_id,
        "url": presign(request, sandbox, document_id, issued),
        "compressionAlgorithm": "GZIP",
    }


def _signature(secret: bytes, document_id: str, issued_ms: int) -> str:
    key = hashlib.sha256(b"document-url|" + secret).digest()
    return hmac.new(key, f"{document_id}|{issued_ms}".encode(), hashlib.sha256).hexdigest()


def presign(request: Request, sandbox, document_id: str, issued: float, path: str = DOCUMENT_PATH) -> str:
    """A presigned download URL under `path` (report documents, or Data Kiosk's), valid DOCUMENT_URL_SECONDS."""
    issued_ms = int(issued * 1000)
    query = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Date": dt.datetime.fromtimestamp(issued, dt.UTC).strftime("%Y%m%dT%H%M%SZ"),
        "X-Amz-Expires": str(DOCUMENT_URL_SECONDS),
        "X-Amz-Issued-Ms": str(issued_ms),
        "X-Amz-Signature": _signature(sandbox.state.secret, document_id, issued_ms),
    }
    base = str(request.base_url).rstrip("/")
    return f"{base}{path}{document_id}?{urlencode(query)}"


def s3_error(status: int, code: str, message: str, extra: str = "") -> Response:
    request_id = base64.b16encode(hashlib.sha256(str(time.time_ns()).encode()).digest()[:8]).decode()
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
        f"{extra}<RequestId>{request_id}</RequestId><HostId>sandbox</HostId></Error>"
    )
    return Response(body, status_code=status, media_type="application/xml")


def refuse_presigned(sandbox, params, document_id: str) -> Response | None:
    """S3's answer to a presigned URL that is malformed, tampered or expired; None when it is good."""
    try:
        issued_ms = int(params.get("X-Amz-Issued-Ms", ""))
    except ValueError:
        return s3_error(
            403,
            "AccessDenied",
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
        )
    if not hmac.compare_digest(
        params.get("X-Amz-Signature", ""), _signature(sandbox.state.secret, document_id, issued_ms)
    ):
        return s3_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    expires = issued_ms / 1000 + sandbox.config.real_seconds(DOCUMENT_URL_SECONDS)
    if time.time() > expires:
        expired_at = dt.datetime.fromtimestamp(expires, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return s3_error(
            403,
            "AccessDenied",
            "Request has expired",
            f"<X-Amz-Expires>{DOCUMENT_URL_SECONDS}</X-Amz-Expires><Expires>{expired_at}</Expires>"
            f"<ServerTime>{now}</ServerTime>",
        )
    return None


@router.get(DOCUMENT_PATH + "{document_id}", include_in_schema=False)
def download_document(document_id: str, request: Request):
    sandbox = sandbox_of(request)
    refused = refuse_presigned(sandbox, request.query_params, document_id)
    if refused is not None:
        return refused
    report = lifecycle.by_document(sandbox, None, document_id)
    if report is None:
        return s3_error(404, "NoSuchKey", "The specified key does not exist.")
    if report.get("outcome") == "FATAL":
        details = report.get("errorDetails") or "The report data for the requested date range is not yet available"
        body = json.dumps({"errorDetails": details})
        chunks = gzip_chunks([body.encode()])
        charset = "UTF-8"
    else:
        chunks = document_gzip(sandbox.state.world(), report)
        charset = report.get("charset") or "UTF-8"
    transport = sandbox.faults.download_faults(report["sellerId"], report["reportType"])
    if "truncated_gzip" in transport:
        chunks = _truncated(chunks)
    if "slow_download" in transport:
        chunks = _slowly(chunks, pause=max(0.01, sandbox.config.real_seconds(2.0)))
    return StreamingResponse(chunks, media_type=f"text/plain; charset={charset}")


def _truncated(chunks):
    data = b"".join(chunks)
    yield data[: max(10, len(data) * 2 // 3)]


def _slowly(chunks, pause: float, piece: int = 8192):
    for chunk in chunks:
        for i in range(0, len(chunk), piece):
            time.sleep(pause)
            yield chunk[i : i + piece]
