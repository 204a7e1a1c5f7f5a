"""Sales and traffic through Data Kiosk 2023-11-15: GraphQL queries of analytics_salesAndTraffic_2024_04_24.

createQuery -> getQuery (poll until DONE / FATAL / CANCELLED) -> getDocument -> download the JSONL data
document, then the same query again with the page's `pagination.nextToken` until there is none. Each data
document becomes one ReportDocument (gzip JSONL, landed as Amazon sent it). The query selects exactly the
fields the dataset's allowlist names (load/datasets.py), placed where Amazon's schema puts them, and is
checked against that schema (sp-api-models/, with graphql-core) before it is sent: a query Amazon would
refuse never costs a createQuery call.

One query serves every marketplace of the seller and a whole range of days: salesAndTrafficByDate with
DAY granularity gives one record per marketplace and day. salesAndTrafficByAsin sums over its whole range
(Amazon's behaviour, as the report's), so per-day SKU figures take one query per day.
"""

from __future__ import annotations

import gzip
import json
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import httpx
from graphql import GraphQLSchema, GraphQLSyntaxError, build_schema, get_named_type, parse, validate
from graphql.utilities import strip_ignored_characters
from sp_api.api import DataKiosk

from orchestration.extract.connection import SellerConnection, tls_context
from orchestration.extract.errors import DocumentError, ExtractionError, ReportFatal, TransientApiError
from orchestration.extract.ratelimit import rate_scale
from orchestration.extract.reports import ReportDocument, call_api
from orchestration.extract.retries import with_retries
from orchestration.load.datasets import SALES_TRAFFIC_BY_DATE, SALES_TRAFFIC_BY_SKU, Dataset

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "sp-api-models" / "analytics_salesAndTraffic_2024_04_24.graphql"
MAX_QUERY_CHARACTERS = 8000  # Amazon's limit, after unnecessary whitespace is removed
TERMINAL = {"DONE", "FATAL", "CANCELLED"}
# Allowlist names that are not metrics: where a record of the query keeps them.
RECORD_FIELDS = {"date": "startDate", "@day": "startDate", "@marketplace_id": "marketplaceId"}
# Queries of one seller in flight at once. Amazon limits a selling partner's non-terminal queries (the number is not
# published, docs/amazon/spapi-limits.md section 3); three keep createQuery's bucket busy while one query is polled
# and downloaded, at 30 s processing against the bucket's 60 s refill.
QUERIES_IN_FLIGHT = 3
WITH_AMOUNTS = "currencyCode"  # read off the amounts (orderedProductSales.currencyCode), not a field of its own


class InvalidQuery(ExtractionError):
    """A query Amazon's schema refuses; found before any call, so nothing was asked of Amazon."""


@lru_cache(maxsize=1)
def schema() -> GraphQLSchema:
    return build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))


def checked(query: str) -> str:
    """The query with its unnecessary whitespace removed, once graphql-core finds it valid against Amazon's
    schema and within Amazon's 8,000 characters; InvalidQuery (one line, the schema's words) otherwise."""
    try:
        document = parse(query)
    except GraphQLSyntaxError as exc:
        raise InvalidQuery(f"Data Kiosk query is not GraphQL: {exc.message}") from None
    compact = strip_ignored_characters(query)
    if len(compact) > MAX_QUERY_CHARACTERS:
        raise InvalidQuery(f"Data Kiosk query is {len(compact)} characters after whitespace removal; "
                           f"Amazon takes at most {MAX_QUERY_CHARACTERS}")
    errors = validate(schema(), document)
    if errors:
        raise InvalidQuery("Data Kiosk query refused by the schema: " + " ".join(e.message for e in errors))
    return compact


def _selection(dataset: Dataset, record_type: str) -> str:
    """The fields of `record_type` that give the dataset's allowlisted columns, with sales and traffic
    metrics under `sales { }` and `traffic { }` as the schema places them; amounts with their currency."""
    record = schema().type_map[record_type]
    groups = {name: get_named_type(record.fields[name].type) for name in ("sales", "traffic")}
    top, nested = ["startDate", "endDate", "marketplaceId"], {name: [] for name in groups}
    for source in sorted(dataset.allowlist):
        if source in RECORD_FIELDS or source == WITH_AMOUNTS:
            continue
        if source in record.fields:
            top.append(source)
            continue
        home = next((g for g, t in groups.items() if source in t.fields), None)
        if home is None:
            raise InvalidQuery(f"{dataset.name}: Data Kiosk's {record_type} has no field {source}")
        money = get_named_type(groups[home].fields[source].type).name == "Amount"
        nested[home].append(f"{source} {{ amount currencyCode }}" if money else source)
    return " ".join([*top, *(f"{g} {{ {' '.join(fields)} }}" for g, fields in nested.items() if fields)])


def build_query(dataset: Dataset, start: date, end: date, marketplace_ids: list[str], aggregate_by: str) -> str:
    """The dataset's Data Kiosk query for [start, end] (inclusive days) in the marketplaces, checked."""
    domain, operation = dataset.data_kiosk.split(".")
    record_type = get_named_type(schema().type_map[schema().query_type.fields[domain].type.name]
                                 .fields[operation].type).name
    ids = ", ".join(json.dumps(m) for m in marketplace_ids)
    return checked(
        f"query {{ {domain} {{ {operation}(startDate: \"{start.isoformat()}\", endDate: \"{end.isoformat()}\", "
        f"aggregateBy: {aggregate_by}, marketplaceIds: [{ids}]) {{ {_selection(dataset, record_type)} }} }} }}"
    )


@dataclass
class QueryRunner:
    """Runs Data Kiosk queries for one seller: every page, each as a gzip JSONL document."""

    connection: SellerConnection
    marketplace_id: str  # picks the regional endpoint; the query names its own marketplaces
    timeout_s: float = 3600.0

    def __post_init__(self) -> None:
        # Polled like reports: after 0.5 s, then 25 % later each time, at most every 10 s (scaled).
        self._client = self.connection.client(DataKiosk, self.marketplace_id)
        self._poll_first, self._poll_max = 0.5 * rate_scale(), 10.0 * rate_scale()

    def documents(self, query: str, report_type: str) -> list[ReportDocument]:
        """Every data document of the query, following pagination; [] when Amazon had no data."""
        query = checked(query)  # never send what the schema refuses
        documents: list[ReportDocument] = []
        token = None
        while True:
            arguments = {"query": query, **({"pagination_token": token} if token else {})}
            created = call_api("createQuery", self._client.create_query, connection=self.connection, **arguments)
            finished, token = self._wait(created.payload["queryId"])
            status = finished["processingStatus"]
            if status == "FATAL":
                raise ReportFatal(f"Data Kiosk query {finished['queryId']} FATAL: {self._error(finished)}")
            if status == "CANCELLED":
                return documents
            if finished.get("dataDocumentId"):
                documents.append(self._download(finished, report_type, len(documents) + 1))
            if not token:
                return documents

    def _wait(self, query_id: str) -> tuple[dict, str | None]:
        deadline = time.monotonic() + self.timeout_s
        delay = self._poll_first
        while True:
            response = call_api("getQuery", self._client.get_query, query_id, connection=self.connection)
            if response.payload["processingStatus"] in TERMINAL:
                # The client keeps `pagination` apart from the payload.
                return response.payload, (response.pagination or {}).get("nextToken")
            if time.monotonic() > deadline:
                raise TransientApiError(f"Data Kiosk query {query_id} still {response.payload['processingStatus']}")
            time.sleep(delay)
            delay = min(delay * 1.25, self._poll_max)

    def _url(self, document_id: str) -> str:
        meta = call_api("getDocument", self._client.get_document, document_id, connection=self.connection)
        return meta.payload["documentUrl"]

    def _error(self, query: dict) -> str:
        if not query.get("errorDocumentId"):
            return "no error document"
        with httpx.Client(verify=tls_context(self.connection.ca_file), timeout=60) as http:
            answer = http.get(self._url(query["errorDocumentId"]))
        try:
            return str(answer.json().get("errorMessage", answer.text))[:500]
        except ValueError:
            return "unreadable error document"

    def _download(self, query: dict, report_type: str, page: int) -> ReportDocument:
        """Stream the JSONL document line by line into gzip (a fresh URL each attempt: they expire in 5 min);
        every line must be a JSON object, or the download is damaged and is tried again."""
        document_id = query["dataDocumentId"]

        def once() -> ReportDocument:
            compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
            pieces, records = [], 0
            with httpx.Client(verify=tls_context(self.connection.ca_file), timeout=300) as http:
                try:
                    with http.stream("GET", self._url(document_id)) as response:
                        if response.status_code == 403 or response.status_code >= 500:
                            raise TransientApiError(f"download of {document_id}: HTTP {response.status_code}")
                        if response.status_code != 200:
                            raise DocumentError(f"download of {document_id}: HTTP {response.status_code}")
                        for line in response.iter_lines():  # Content-Encoding (gzip) is undone by httpx
                            if not line.strip():
                                continue
                            if not isinstance(_json_line(line, document_id), dict):
                                raise TransientApiError(f"document {document_id}: a line is not a JSON object")
                            pieces.append(compressor.compress(line.encode("utf-8") + b"\n"))
                            records += 1
                except (httpx.TransportError, httpx.DecodingError) as exc:
                    raise TransientApiError(f"download of {document_id}: {type(exc).__name__}") from None
            pieces.append(compressor.flush())
            context = {"query_id": query["queryId"], "created_time": query.get("createdTime"), "page": page,
                       "records": records}
            return ReportDocument(report_type, query["queryId"], document_id, "utf-8", b"".join(pieces), context)

        return with_retries(once, on=TransientApiError, attempts=6, max_wait=30)


def _json_line(line: str, document_id: str):
    try:
        return json.loads(line)
    except ValueError:
        raise TransientApiError(f"document {document_id}: a line is not JSON (damaged download)") from None



def sales_and_traffic(connection: SellerConnection, marketplace_ids: list[str], first: date, last: date
                      ) -> list[ReportDocument]:
    """Sales and traffic of the days [first, last] in every marketplace: the by-date pages of one range query,
    then the by-SKU pages of one query per day. Amazon serves two years back and restates up to 72 hours.

    The queries run QUERIES_IN_FLIGHT at a time (each its own createQuery -> getQuery -> getDocument), so
    Amazon processes the next ones while one is polled and downloaded and createQuery's bucket is spent at its
    rate; the documents come back in the order above. A failed query stops the ones not yet asked."""
    # (dataset, first day, last day, aggregation): each query is built and checked by the thread that sends it,
    # so the first ones go out at once rather than after 500 days of queries are checked.
    queries = [(SALES_TRAFFIC_BY_DATE, first, last, "DAY")]
    day = first
    while day <= last:
        queries.append((SALES_TRAFFIC_BY_SKU, day, day, "SKU"))
        day += timedelta(days=1)

    def run(query: tuple[Dataset, date, date, str]) -> list[ReportDocument]:
        dataset, start, end, aggregate_by = query
        return QueryRunner(connection, marketplace_ids[0]).documents(
            build_query(dataset, start, end, marketplace_ids, aggregate_by), dataset.data_kiosk)

    if len(queries) == 1:
        return run(queries[0])
    pool = ThreadPoolExecutor(max_workers=QUERIES_IN_FLIGHT, thread_name_prefix="data-kiosk")
    try:
        return [document for pages in pool.map(run, queries) for document in pages]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # after a failure, queries not yet asked never are


def split_pages(document: ReportDocument, days: list[date]) -> dict[date, ReportDocument]:
    """A window's Data Kiosk page cut into its days (extract/windows.py's Split): each record goes to the day
    of its `startDate` (a by-date page holds many days, a by-SKU page one); a record whose day is not one of
    the window's goes to the window's first day, where the load quarantines or the partition check flags it."""
    lines: dict[date, list[bytes]] = {}
    for line in gzip.decompress(document.compressed).decode(document.charset).splitlines():
        if not line.strip():
            continue
        try:
            day = date.fromisoformat(json.loads(line).get("startDate") or "")
        except (ValueError, AttributeError):
            day = days[0]
        lines.setdefault(day if day in days else days[0], []).append(line.encode("utf-8") + b"\n")
    return {
        day: ReportDocument(document.report_type, document.report_id, f"{document.document_id}.{day.isoformat()}",
                            "utf-8", gzip.compress(b"".join(parts), mtime=0),
                            {**document.context, "window_day": day.isoformat()})
        for day, parts in lines.items()
    }
