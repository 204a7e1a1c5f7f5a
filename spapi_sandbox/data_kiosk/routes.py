"""HTTP routes of Data Kiosk 2023-11-15: createQuery, getQueries, getQuery, cancelQuery, getDocument, and
the presigned download of its JSONL documents.

A query's life is a report's: IN_QUEUE for the first 20 % of the processing time (``--report-processing-
seconds``, time-scaled), IN_PROGRESS, then DONE with a ``dataDocumentId``, DONE without one when there is no
data, or FATAL with an ``errorDocumentId`` (a JSON ``{"errorMessage"}``) when startDate is more than two years
before the query. The outcome is decided once and stored. A data document holds at most
``RECORDS_PER_DOCUMENT`` records (a seller profile's ``data_kiosk_records_per_document`` may say fewer); the
rest is paginated: ``pagination.nextToken`` on the query, and the same query resubmitted with
``paginationToken`` answers the next records, computed at the first page's moment.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import threading
import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse, Response

from .. import marketplaces, paging
from ..context import Sandbox, sandbox_of
from ..errors import SpApiError, invalid_input, not_found
from ..gate import Caller, gate
from ..reports.lifecycle import QUEUE_SHARE, iso
from ..reports.routes import presign, refuse_presigned, s3_error
from ..world import to_utc
from . import graphql_queries as gq

router = APIRouter()
BASE = "/dataKiosk/2023-11-15"
DOCUMENT_PATH = "/_s3/data-kiosk-documents/"
RECORDS_PER_DOCUMENT = 1000
STATUSES = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")
PAGE_PURPOSE = "data-kiosk-pagination"  # the key purpose of the signed page cursors
LISTING_PURPOSE = "data-kiosk-get-queries"
_RESOLVE_LOCK = threading.Lock()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _records_per_document(seller: dict) -> int:
    wanted = (seller.get("profile") or {}).get("data_kiosk_records_per_document", RECORDS_PER_DOCUMENT)
    return max(1, int(wanted))


@router.post(BASE + "/queries", status_code=202)
def create_query(caller: Annotated[Caller, Depends(gate("createQuery"))], body: Annotated[Any, Body()] = None):
    sandbox, seller = caller.sandbox, caller.seller
    if not isinstance(body, dict):
        raise invalid_input("The request body must be a CreateQuerySpecification JSON object.")
    text = body.get("query")
    now = dt.datetime.now(dt.UTC)
    try:
        document = gq.check(text)
        as_of, offset = now, 0
        token = body.get("paginationToken")
        if token is not None:
            cursor = paging.decode(sandbox, PAGE_PURPOSE, token) if isinstance(token, str) else None
            if not cursor or cursor.get("query") != _digest(text) or cursor.get("seller") != seller["seller_id"]:
                raise gq.QueryRefused("paginationToken is invalid: it was not given for this query.",
                                      "Invalid input")
            as_of, offset = dt.datetime.fromtimestamp(cursor["as_of"], dt.UTC), int(cursor["offset"])
        gq.check_arguments(document, seller, as_of)
    except gq.QueryRefused as exc:
        raise SpApiError(400, "InvalidInput", exc.message, exc.details) from None
    record = {
        "queryId": sandbox.state.next_query_id(),
        "query": text,
        "sellerId": seller["seller_id"],
        "region": marketplaces.get(seller["marketplace_ids"][0]).region,
        "createdTime": iso(now),
        "createdEpoch": time.time(),
        "asOfEpoch": as_of.timestamp(),
        "offset": offset,
        "processingSeconds": sandbox.config.real_seconds(sandbox.config.report_processing_seconds),
        "cancelled": False,
        "outcome": None,
    }
    sandbox.state.put_query(record)
    return JSONResponse({"queryId": record["queryId"]}, status_code=202)


@router.get(BASE + "/queries")
def get_queries(request: Request, caller: Annotated[Caller, Depends(gate("getQueries"))]):
    sandbox, params = caller.sandbox, request.query_params
    statuses = paging.csv_param(params, "processingStatuses")
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        raise invalid_input(
            f"1 validation error detected: Value '[{', '.join(bad)}]' at 'processingStatuses' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(STATUSES)}]"
        )
    try:
        page_size = int(params.get("pageSize", 10))
    except ValueError:
        raise invalid_input("pageSize must be an integer from 1 to 100.") from None
    if not 1 <= page_size <= 100:
        raise invalid_input("pageSize must be an integer from 1 to 100.")
    now = dt.datetime.now(dt.UTC)
    try:
        since = to_utc(params["createdSince"]) if params.get("createdSince") else now - dt.timedelta(days=90)
        until = to_utc(params["createdUntil"]) if params.get("createdUntil") else now
    except ValueError:
        raise invalid_input("createdSince and createdUntil must be ISO 8601 date-times.") from None
    offset = 0
    if params.get("paginationToken"):
        cursor = paging.decode(sandbox, LISTING_PURPOSE, params["paginationToken"])
        if not cursor or cursor.get("seller") != caller.seller_id:
            raise invalid_input("paginationToken is invalid.")
        offset = int(cursor["offset"])
    views = [
        view(sandbox, q)
        for q in sorted(sandbox.state.queries(), key=lambda q: q["createdEpoch"], reverse=True)
        if q["sellerId"] == caller.seller_id and since.timestamp() <= q["createdEpoch"] <= until.timestamp()
    ]
    views = [v for v in views if not statuses or v["processingStatus"] in statuses]
    out: dict = {"queries": views[offset : offset + page_size]}
    if offset + page_size < len(views):
        cursor = {"seller": caller.seller_id, "offset": offset + page_size}
        out["pagination"] = {"nextToken": paging.encode(sandbox, LISTING_PURPOSE, cursor)}
    return out


@router.get(BASE + "/queries/{query_id}")
def get_query(query_id: str, caller: Annotated[Caller, Depends(gate("getQuery"))]):
    return view(caller.sandbox, _owned(caller.sandbox, caller.seller_id, query_id))


@router.delete(BASE + "/queries/{query_id}")
def cancel_query(query_id: str, caller: Annotated[Caller, Depends(gate("cancelQuery"))]):
    sandbox = caller.sandbox
    query = _owned(sandbox, caller.seller_id, query_id)
    state = view(sandbox, query)["processingStatus"]
    if state in ("DONE", "FATAL"):
        raise invalid_input(f"Query {query_id} is {state}: only IN_QUEUE or IN_PROGRESS queries can be cancelled.")
    if state != "CANCELLED":
        query["cancelled"] = True
        sandbox.state.put_query(query)
    return Response(status_code=204)


@router.get(BASE + "/documents/{document_id}")
def get_document(document_id: str, request: Request, caller: Annotated[Caller, Depends(gate("getDocument"))]):
    sandbox = caller.sandbox
    if _by_document(sandbox, caller.seller_id, document_id) is None:
        raise not_found("The provided documentId was not found.")
    issued = time.time()
    if sandbox.faults.expired_url(caller.seller_id, gq.DATASET):
        issued -= sandbox.config.real_seconds(300) + 1
    return {"documentId": document_id, "documentUrl": presign(request, sandbox, document_id, issued, DOCUMENT_PATH)}


@router.get(DOCUMENT_PATH + "{document_id}", include_in_schema=False)
def download_document(document_id: str, request: Request):
    sandbox = sandbox_of(request)
    refused = refuse_presigned(sandbox, request.query_params, document_id)
    if refused is not None:
        return refused
    query = _by_document(sandbox, None, document_id)
    if query is None:
        return s3_error(404, "NoSuchKey", "The specified key does not exist.")
    if query.get("errorDocumentId") == document_id:
        body = json.dumps({"errorMessage": query["errorMessage"]}).encode()
        return Response(gzip.compress(body, mtime=0), media_type="application/json",
                        headers={"Content-Encoding": "gzip"})
    page = _page(sandbox, query)[0]
    lines = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in page).encode()
    return Response(gzip.compress(lines, mtime=0), media_type="application/x-ndjson",
                    headers={"Content-Encoding": "gzip"})


# -- a query's life ------------------------------------------------------------------------------------------


def _owned(sandbox: Sandbox, seller_id: str, query_id: str) -> dict:
    query = sandbox.state.query(query_id)
    if query is None or query["sellerId"] != seller_id:
        raise not_found("The provided queryId was not found.")
    return query


def _by_document(sandbox: Sandbox, seller_id: str | None, document_id: str) -> dict | None:
    for query in sandbox.state.queries():
        if document_id in (query.get("dataDocumentId"), query.get("errorDocumentId")) and seller_id in (
            None, query["sellerId"]
        ):
            return query
    return None


def _page(sandbox: Sandbox, query: dict) -> tuple[list[dict], bool]:
    """The records of this query's page, and whether more follow."""
    seller = sandbox.state.seller(query["sellerId"])
    as_of = dt.datetime.fromtimestamp(query["asOfEpoch"], dt.UTC)
    every = gq.records(gq.check(query["query"]), sandbox.state.world(), seller, as_of)
    size, offset = _records_per_document(seller), query["offset"]
    return every[offset : offset + size], offset + size < len(every)


def _document_id(sandbox: Sandbox, query: dict, kind: str) -> str:
    digest = hashlib.sha256(f"dk|{kind}|{sandbox.state.seed}|{query['sellerId']}|{query['queryId']}".encode()).digest()
    return f"amzn1.tortuga.4.{query['region']}.{uuid.UUID(bytes=digest[:16])}.T{digest[16:20].hex().upper()}"


def _resolve(sandbox: Sandbox, query: dict) -> dict:
    """Decide DONE (with or without a document) or FATAL once processing time is over; stored for good."""
    created = dt.datetime.fromtimestamp(query["createdEpoch"], dt.UTC)
    seller = sandbox.state.seller(query["sellerId"])
    as_of = dt.datetime.fromtimestamp(query["asOfEpoch"], dt.UTC)
    if gq.start_date(gq.check(query["query"]), seller, as_of) < (created - gq.HISTORY).date():
        query["outcome"] = "FATAL"
        query["errorDocumentId"] = _document_id(sandbox, query, "error")
        query["errorMessage"] = "startDate must be no more than two years ago."
    else:
        page, more = _page(sandbox, query)
        query["outcome"] = "DONE"
        if page:
            query["dataDocumentId"] = _document_id(sandbox, query, "data")
        if more:
            cursor = {"query": _digest(query["query"]), "seller": query["sellerId"], "as_of": query["asOfEpoch"],
                      "offset": query["offset"] + len(page)}
            query["nextToken"] = paging.encode(sandbox, PAGE_PURPOSE, cursor)
    sandbox.state.put_query(query)
    return query


def _status(sandbox: Sandbox, query: dict) -> tuple[str, dict]:
    total, elapsed = query["processingSeconds"], time.time() - query["createdEpoch"]
    if query["cancelled"]:
        return "CANCELLED", query
    if elapsed < total * QUEUE_SHARE:
        return "IN_QUEUE", query
    if elapsed < total:
        return "IN_PROGRESS", query
    if query["outcome"] is None:
        with _RESOLVE_LOCK:  # decide once, even when polls race
            query = sandbox.state.query(query["queryId"]) or query
            if query["outcome"] is None:
                query = _resolve(sandbox, query)
    return query["outcome"], query


def view(sandbox: Sandbox, query: dict) -> dict:
    """The query as the Query model describes it."""
    state, query = _status(sandbox, query)
    out = {"queryId": query["queryId"], "query": query["query"], "createdTime": query["createdTime"],
           "processingStatus": state}
    started = query["createdEpoch"] + query["processingSeconds"] * QUEUE_SHARE
    if state not in ("IN_QUEUE", "CANCELLED"):
        out["processingStartTime"] = iso(dt.datetime.fromtimestamp(started, dt.UTC))
    if state in ("DONE", "FATAL"):
        ended = query["createdEpoch"] + query["processingSeconds"]
        out["processingEndTime"] = iso(dt.datetime.fromtimestamp(ended, dt.UTC))
        for key in ("dataDocumentId", "errorDocumentId"):
            if query.get(key):
                out[key] = query[key]
        if query.get("nextToken"):
            out["pagination"] = {"nextToken": query["nextToken"]}
    return out
