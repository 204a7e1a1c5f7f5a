"""Data Kiosk queries: built from the datasets' allowlists, checked against Amazon's schema before any call."""

from __future__ import annotations

import gzip
import json
import re
from datetime import date
from decimal import Decimal

import pytest

from orchestration.extract import data_kiosk
from orchestration.extract.data_kiosk import InvalidQuery, QueryRunner, build_query, checked
from orchestration.load.datasets import SALES_TRAFFIC_BY_DATE, SALES_TRAFFIC_BY_SKU
from orchestration.load.flatten import flatten, load_json_document, sales_traffic_by_date
from orchestration.load.parse import parse_records

US, CA = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"


@pytest.mark.parametrize("dataset", [SALES_TRAFFIC_BY_DATE, SALES_TRAFFIC_BY_SKU], ids=lambda d: d.name)
def test_the_query_asks_for_every_allowlisted_field_and_nothing_else(dataset):
    query = build_query(dataset, date(2026, 11, 1), date(2026, 11, 30), [US, CA], "DAY" if "date" in dataset.name
                        else "SKU")
    asked = set(re.findall(r"[A-Za-z0-9_]+", query.split("){", 1)[1]))
    wanted = {s for s in dataset.allowlist if not s.startswith("@")} - {"date", "currencyCode"}
    framing = {"startDate", "endDate", "marketplaceId", "sales", "traffic", "amount", "currencyCode"}
    assert asked - framing == wanted
    assert 'marketplaceIds:["ATVPDKIKX0DER" "A2EUQ1WTGCTBG2"]' in query


@pytest.mark.parametrize(("query", "reason"), [
    ("query { analytics_salesAndTraffic_2024_04_24 { salesAndTrafficByDate(startDate: \"2026-11-01\", "
     "endDate: \"2026-11-02\", aggregateBy: DAY, marketplaceIds: [\"X\"]) { startDate sessionsPerDay } } }",
     "Cannot query field 'sessionsPerDay'"),
    ("query { analytics_salesAndTraffic_2024_04_24 { salesAndTrafficByDate(startDate: \"2026-11-01\", "
     "aggregateBy: HOURLY, marketplaceIds: [\"X\"]) { startDate } } }", "HOURLY"),
    ("query { salesAndTrafficByDate { startDate } }", "Cannot query field 'salesAndTrafficByDate' on type 'Query'"),
    ("query { analytics_salesAndTraffic_2024_04_24 { ", "not GraphQL"),
])
def test_a_query_the_schema_refuses_is_named_in_one_line(query, reason):
    with pytest.raises(InvalidQuery) as refused:
        checked(query)
    assert reason in str(refused.value) and "\n" not in str(refused.value)


def test_a_query_over_8000_characters_after_whitespace_removal_is_refused():
    fields = " ".join(["startDate"] * 900)
    query = build_query(SALES_TRAFFIC_BY_DATE, date(2026, 11, 1), date(2026, 11, 1), [US], "DAY")
    with pytest.raises(InvalidQuery, match="at most 8000"):
        checked(query.replace("startDate endDate", fields, 1))
    assert checked("  \n".join(query.split(" "))) == query  # whitespace alone never counts


class _Client:
    """Stands in for python-amazon-sp-api's DataKiosk client; records every call."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.calls.append(name)


class _Connection:
    rate_key = "app:seller"

    def __init__(self):
        self.made = _Client()

    def client(self, api_class, marketplace_id):
        assert api_class.__name__ == "DataKiosk"
        return self.made


def test_an_invalid_query_is_refused_before_any_call_to_amazon():
    connection = _Connection()
    runner = QueryRunner(connection, US)
    with pytest.raises(InvalidQuery):
        runner.documents("query { analytics_salesAndTraffic_2024_04_24 { salesAndTrafficByDate { nope } } }",
                         SALES_TRAFFIC_BY_DATE.data_kiosk)
    assert connection.made.calls == []


def test_a_kiosk_page_and_the_report_give_the_same_typed_rows():
    report = load_json_document(
        '{"salesAndTrafficByDate":[{"date":"2026-01-02","salesByDate":{"orderedProductSales":{"amount":120.5,'
        '"currencyCode":"USD"},"unitsOrdered":7,"totalOrderItems":6,"unitsRefunded":1},"trafficByDate":'
        '{"sessions":60,"pageViews":90,"buyBoxPercentage":97.5}}],"salesAndTrafficByAsin":[]}')
    page = ('{"startDate":"2026-01-02","endDate":"2026-01-02","marketplaceId":"ATVPDKIKX0DER","sales":'
            '{"orderedProductSales":{"amount":120.5,"currencyCode":"USD"},"unitsOrdered":7,"totalOrderItems":6,'
            '"unitsRefunded":1},"traffic":{"sessions":60,"pageViews":90,"buyBoxPercentage":97.5}}\n')
    from_report = parse_records(list(sales_traffic_by_date(report)), SALES_TRAFFIC_BY_DATE, {"marketplace_id": US})
    from_kiosk = parse_records(list(flatten(SALES_TRAFFIC_BY_DATE, SALES_TRAFFIC_BY_DATE.data_kiosk, page)),
                               SALES_TRAFFIC_BY_DATE)
    assert from_kiosk.rows.to_dicts() == from_report.rows.to_dicts()
    assert from_kiosk.rows.to_dicts()[0]["ordered_product_sales"] == Decimal("120.50")
    # The by-SKU dataset finds nothing in a by-date page (one extraction lands both queries' pages).
    assert list(flatten(SALES_TRAFFIC_BY_SKU, SALES_TRAFFIC_BY_DATE.data_kiosk, page)) == []


def test_the_schema_is_amazons_file_in_the_repository():
    assert data_kiosk.SCHEMA_FILE.parent.name == "sp-api-models"
    assert "analytics_salesAndTraffic_2024_04_24" in data_kiosk.schema().query_type.fields


def test_a_window_page_is_cut_into_its_days_by_start_date():
    from orchestration.extract.data_kiosk import split_pages
    from orchestration.extract.reports import ReportDocument

    days = [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]
    lines = [{"startDate": "2026-11-02", "marketplaceId": m} for m in (US, CA)] + [
        {"startDate": "2026-11-03", "marketplaceId": US}, {"startDate": "2027-01-01", "marketplaceId": US}]
    page = ReportDocument(SALES_TRAFFIC_BY_DATE.data_kiosk, "q1", "doc1", "utf-8",
                          gzip.compress("".join(f"{json.dumps(r)}\n" for r in lines).encode()))
    parts = split_pages(page, days)
    assert sorted(parts) == days  # the stray day goes to the first day, where the load deals with it
    texts = {day: gzip.decompress(p.compressed).decode() for day, p in parts.items()}
    assert [json.loads(t)["marketplaceId"] for t in texts[days[1]].splitlines()] == [US, CA]
    assert all(p.report_type == page.report_type and p.document_id.startswith("doc1.") for p in parts.values())
