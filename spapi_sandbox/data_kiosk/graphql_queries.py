"""Checks a Data Kiosk query against Amazon's GraphQL schema and answers it from the world, as records.

The schema is Amazon's own file (sp-api-models/analytics_salesAndTraffic_2024_04_24.graphql), read by
graphql-core: a query is parsed, validated (unknown fields, bad arguments, wrong types) and executed by
the library, so aliases, fragments and the selection of fields behave as GraphQL says, and a record holds
exactly the fields asked for. The numbers are the world's sales-and-traffic numbers, the very ones the
GET_SALES_AND_TRAFFIC_REPORT documents carry (world/traffic.py), so the two paths agree.
"""

from __future__ import annotations

import calendar
import datetime as dt
from functools import lru_cache
from pathlib import Path

from graphql import (
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    OperationType,
    build_schema,
    execute,
    parse,
    validate,
)
from graphql.language import FieldNode, StringValueNode
from graphql.utilities import strip_ignored_characters

from .. import marketplaces
from ..world import World

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "sp-api-models" / "analytics_salesAndTraffic_2024_04_24.graphql"
DATASET = "analytics_salesAndTraffic_2024_04_24"
MAX_QUERY_CHARACTERS = 8000  # after unnecessary whitespace is removed (CreateQuerySpecification.query)
HISTORY = dt.timedelta(days=730)  # startDate at most two years ago
SERVED = ("salesAndTrafficByDate", "salesAndTrafficByAsin")
INVALID = "The provided query is invalid."


class QueryRefused(Exception):
    """createQuery answers 400 InvalidInput with this message and details."""

    def __init__(self, details: str, message: str = INVALID):
        super().__init__(details)
        self.message, self.details = message, details


def _date(value) -> dt.date:
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise GraphQLError(f"Date must be an RFC-3339 full date string, got {value!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise GraphQLError(f"Date must be an RFC-3339 full date like 2023-11-15, got {value!r}") from None


def _date_literal(node, _variables=None) -> dt.date:
    if not isinstance(node, StringValueNode):
        raise GraphQLError("Date must be a string like \"2023-11-15\"")
    return _date(node.value)


@lru_cache(maxsize=1)
def schema() -> GraphQLSchema:
    """Amazon's schema, with the Date scalar taught to read and write ISO days (the file only names it)."""
    built = build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))
    day = built.type_map["Date"]
    day.serialize = lambda value: _date(value).isoformat()
    day.parse_value = _date
    day.parse_literal = _date_literal
    return built


def check(text) -> tuple:
    """Parse and validate a query as createQuery does; returns the parsed document, or raises QueryRefused."""
    if not isinstance(text, str) or not text.strip():
        raise QueryRefused("query is required: a GraphQL query string.", "The request body is invalid.")
    try:
        document = parse(text)
    except GraphQLSyntaxError as exc:
        raise QueryRefused(exc.message) from None
    if len(strip_ignored_characters(text)) > MAX_QUERY_CHARACTERS:
        raise QueryRefused(f"The query is longer than {MAX_QUERY_CHARACTERS} characters after whitespace removal.")
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        raise QueryRefused("A Data Kiosk request holds exactly one query operation.")
    if operations[0].variable_definitions:
        raise QueryRefused("createQuery takes no variables: write the values into the query.")
    roots = [s for s in operations[0].selection_set.selections if isinstance(s, FieldNode)]
    for root in roots:
        if root.name.value not in schema().query_type.fields:
            raise QueryRefused(f"Query '{root.name.value}' is not supported.")
    errors = validate(schema(), document)
    if errors:
        raise QueryRefused(" ".join(e.message for e in errors))
    if [r.name.value for r in roots] != [DATASET]:
        raise QueryRefused("Query did not have a versioned domain field")
    asked = [s for s in roots[0].selection_set.selections if isinstance(s, FieldNode)]
    if len(asked) != 1 or len(roots[0].selection_set.selections) != 1:
        raise QueryRefused(f"Select exactly one query of {DATASET} ({', '.join(SERVED)}).")
    if asked[0].name.value not in SERVED:
        raise QueryRefused(f"The sandbox serves {' and '.join(SERVED)} only, not {asked[0].name.value}.")
    return document


class _Dataset:
    """The resolvers of the dataset's queries; `world` None only checks the arguments (createQuery)."""

    def __init__(self, world: World | None, seller: dict, as_of: dt.datetime):
        self.world, self.seller, self.as_of = world, seller, as_of
        self.start_dates: list[dt.date] = []  # what the query asked for, as the library coerced it

    def _arguments(self, start: dt.date, end: dt.date, marketplace_ids: list[str]) -> None:
        self.start_dates.append(start)
        if not marketplace_ids:
            raise GraphQLError("marketplaceIds must name at least one marketplace.")
        for m in marketplace_ids:
            if m not in marketplaces.MARKETPLACES:
                raise GraphQLError(f"Invalid marketplaceId {m}.")
            if m not in self.seller["marketplace_ids"]:
                raise GraphQLError(f"The seller is not registered in marketplace {m}.")
        if end < start:
            raise GraphQLError("endDate must not be before startDate.")
        if start > self.as_of.date():
            raise GraphQLError("startDate must not be in the future.")

    def salesAndTrafficByDate(self, _info, aggregateBy, startDate, endDate, marketplaceIds):  # noqa: N802, N803
        self._arguments(startDate, endDate, marketplaceIds)
        if self.world is None:
            return []
        first, last = _whole_periods(startDate, endDate, aggregateBy)
        records = []
        for m in marketplaceIds:
            body = self._body(m, first, last, aggregateBy, "PARENT")
            for entry in body["salesAndTrafficByDate"]:
                start = dt.date.fromisoformat(entry["date"])
                records.append({"startDate": start, "endDate": _period_end(start, aggregateBy),
                                "marketplaceId": m, "sales": entry["salesByDate"], "traffic": entry["trafficByDate"]})
        return sorted(records, key=lambda r: (r["startDate"], marketplaceIds.index(r["marketplaceId"])))

    def salesAndTrafficByAsin(self, _info, aggregateBy, startDate, endDate, marketplaceIds):  # noqa: N802, N803
        self._arguments(startDate, endDate, marketplaceIds)
        if self.world is None:
            return []
        records = []
        for m in marketplaceIds:
            body = self._body(m, startDate, endDate, "DAY", aggregateBy)
            last = min(endDate, self.as_of.date())
            for row in body["salesAndTrafficByAsin"]:
                records.append({"startDate": startDate, "endDate": last, "marketplaceId": m,
                                "parentAsin": row["parentAsin"], "childAsin": row.get("childAsin"),
                                "sku": row.get("sku"), "sales": row["salesByAsin"], "traffic": row["trafficByAsin"]})
        return records

    def _body(self, marketplace_id: str, first: dt.date, last: dt.date, by_date: str, by_asin: str) -> dict:
        if last < first:
            return {"salesAndTrafficByDate": [], "salesAndTrafficByAsin": []}
        start = dt.datetime.combine(first, dt.time(0), dt.UTC)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), dt.UTC)
        return self.world.sales_and_traffic(self.seller["seller_id"], marketplace_id, start, end, by_date, by_asin,
                                            as_of=self.as_of, shipments_by_asin=True)


def _whole_periods(start: dt.date, end: dt.date, granularity: str) -> tuple[dt.date, dt.date]:
    """Amazon's rule: a mid-week (Sunday weeks) or mid-month start moves forward, a mid-period end back."""
    if granularity == "WEEK":
        start += dt.timedelta(days=(6 - start.weekday()) % 7)
        end -= dt.timedelta(days=(end.weekday() + 2) % 7)
    elif granularity == "MONTH":
        if start.day != 1:
            start = (start.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        if end != _period_end(end.replace(day=1), "MONTH"):
            end = end.replace(day=1) - dt.timedelta(days=1)
    return start, end


def _period_end(start: dt.date, granularity: str) -> dt.date:
    if granularity == "WEEK":
        return start + dt.timedelta(days=6)
    if granularity == "MONTH":
        return start.replace(day=calendar.monthrange(start.year, start.month)[1])
    return start


def start_date(document, seller: dict, as_of: dt.datetime) -> dt.date:
    """The startDate the query asks for: the two-year rule is judged on it when the query is resolved."""
    dataset = _Dataset(None, seller, as_of)
    _run(document, dataset)
    return dataset.start_dates[0]


def _run(document, dataset: _Dataset) -> list[dict]:
    result = execute(schema(), document, root_value={DATASET: lambda _info: dataset})
    if result.errors:
        raise QueryRefused(" ".join(e.message for e in result.errors))
    answered = (result.data or {}).get(DATASET) or {}
    (records,) = answered.values()  # one query field (check() makes sure), maybe under an alias
    return records or []


def check_arguments(document, seller: dict, as_of: dt.datetime) -> None:
    """The argument rules createQuery applies before it queues the query (400 when broken)."""
    _run(document, _Dataset(None, seller, as_of))


def records(document, world: World, seller: dict, as_of: dt.datetime) -> list[dict]:
    """Every record the query yields with the data there is at `as_of`, each exactly as selected."""
    return _run(document, _Dataset(world, seller, as_of))
