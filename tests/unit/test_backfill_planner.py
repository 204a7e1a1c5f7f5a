"""The backfill planner asks for history in the fewest windows each report's rules allow, and a window's
document is split back into whole days without losing or moving a row."""

import gzip
import json
from datetime import date, timedelta

import pytest

from orchestration.extract.catalogue import EXTRACTIONS
from orchestration.extract.planner import ONE_DAY, Window, WindowRule, days_between, plan_windows, restated_days
from orchestration.extract.reports import ReportDocument
from orchestration.extract.windows import by_partition_column, by_publication_day, by_record_field, sales_and_traffic
from orchestration.load.datasets import ORDERS

FIRST = date(2025, 6, 1)


def _days(count: int, first: date = FIRST) -> list[date]:
    return [first + timedelta(days=n) for n in range(count)]


def test_eighteen_months_of_orders_take_nineteen_thirty_day_windows():
    days = _days(548)
    windows = plan_windows(days, WindowRule(30, "test"))
    assert len(windows) == 19  # ceil(548 / 30), by hand
    assert [d for w in windows for d in w.days] == days  # every day once, in order
    assert all(len(w.days) <= 30 for w in windows)
    assert len(windows[-1].days) == 548 - 18 * 30


def test_a_gap_or_a_day_asked_alone_ends_a_window():
    days = _days(10) + _days(5, FIRST + timedelta(days=20))
    alone = {FIRST + timedelta(days=4)}
    windows = plan_windows(days, WindowRule(30, "test"), alone=alone)
    day = [FIRST + timedelta(days=n) for n in range(25)]
    assert windows == [Window(day[0], day[3]), Window(day[4], day[4]), Window(day[5], day[9]), Window(day[20], day[24])]


def test_one_day_rule_and_empty_and_reversed_ranges():
    assert plan_windows(_days(3), ONE_DAY) == [Window(d, d) for d in _days(3)]
    assert plan_windows([], WindowRule(30, "test")) == []
    with pytest.raises(ValueError, match="ends"):
        days_between(FIRST, FIRST - timedelta(days=1))
    with pytest.raises(ValueError, match="at least one day"):
        WindowRule(0, "never")


def test_the_window_rules_follow_amazons_published_limits():
    # docs/amazon/spapi-limits.md: orders <= 30 days, fulfilled shipments <= 1 month, listTransactions <= 180
    # days, sales and traffic any range of the 2 years served; snapshots are today only.
    assert EXTRACTIONS["orders"].window.max_days == 30
    assert EXTRACTIONS["fulfilled_shipments"].window.max_days <= 31
    assert EXTRACTIONS["finance_transactions"].window.max_days == 180
    assert EXTRACTIONS["sales_traffic"].window.max_days == 730
    assert EXTRACTIONS["sales_traffic"].lookback_days == 3  # restated within 72 hours
    assert all(e.window.max_days == 1 for e in EXTRACTIONS.values() if e.snapshot)


def test_restated_days_are_the_last_ones_before_today():
    today = date(2026, 12, 2)
    assert restated_days(today, 3) == [date(2026, 11, 29), date(2026, 11, 30), date(2026, 12, 1)]


def _document(text: str, context: dict | None = None, report_type: str = ORDERS.report_type) -> ReportDocument:
    return ReportDocument(report_type, "r1", "d1", "utf-8", gzip.compress(text.encode("utf-8")), context or {})


def test_a_flat_file_window_splits_into_its_utc_days_and_keeps_every_line():
    header = "amazon-order-id\tpurchase-date\tbuyer-email\tsku"
    lines = [
        "111-1\t2025-06-01T23:59:59+00:00\ta@example.com\tS1",
        "111-2\t2025-06-02T01:00:00+02:00\tb@example.com\tS2",  # 2025-06-01 23:00 UTC
        "111-3\t2025-06-02T00:00:00+00:00\tc@example.com\tS3",
        "111-4\tnot a date\td@example.com\tS4",  # unreadable: the window's first day (quarantined there)
        "",
        "111-5\t2025-06-03T12:00:00Z\te@example.com\tS5",
    ]
    parts = by_partition_column(ORDERS)(_document("\r\n".join([header, *lines]) + "\r\n"), _days(3))
    text = {day: part.text().splitlines() for day, part in parts.items()}
    assert all(t[0] == header for t in text.values())
    assert [line.split("\t")[0] for line in text[FIRST][1:]] == ["111-1", "111-2", "111-4"]
    assert [line.split("\t")[0] for line in text[FIRST + timedelta(days=1)][1:]] == ["111-3"]
    assert [line.split("\t")[0] for line in text[FIRST + timedelta(days=2)][1:]] == ["111-5"]
    assert {part.document_id for part in parts.values()} == {f"d1.{d.isoformat()}" for d in _days(3)}


def test_json_pages_split_by_the_record_field_at_any_depth():
    body = {"operation": "listTransactions", "request": {}, "context": {"marketplace_id": "M"},
            "pages": [{"transactions": [{"postedDate": "2025-06-01T10:00:00Z", "id": 1},
                                        {"postedDate": "2025-06-02T10:00:00Z", "id": 2}], "nextToken": "t"},
                      {"transactions": [{"postedDate": "2025-06-02T11:00:00Z", "id": 3}]}]}
    parts = by_record_field("postedDate")(_document(json.dumps(body), report_type="listTransactions"), _days(2))
    ids = {day: [t["id"] for page in json.loads(p.text())["pages"] for t in page["transactions"]]
           for day, p in parts.items()}
    assert ids == {FIRST: [1], FIRST + timedelta(days=1): [2, 3]}


def test_a_sales_and_traffic_range_gives_each_day_its_date_entry_and_no_range_totals():
    body = {"reportSpecification": {"dataStartTime": "2025-06-01", "dataEndTime": "2025-06-02"},
            "salesAndTrafficByDate": [{"date": "2025-06-01", "x": 1}, {"date": "2025-06-02", "x": 2}],
            "salesAndTrafficByAsin": [{"sku": "S1"}]}
    parts = sales_and_traffic(_document(json.dumps(body)), _days(2))
    second = json.loads(parts[FIRST + timedelta(days=1)].text())
    assert second["salesAndTrafficByDate"] == [{"date": "2025-06-02", "x": 2}]
    assert second["salesAndTrafficByAsin"] == []
    one_day = json.loads(sales_and_traffic(_document(json.dumps(body)), [FIRST])[FIRST].text())
    assert one_day["salesAndTrafficByAsin"] == [{"sku": "S1"}]


def test_a_settlement_belongs_to_the_day_it_was_published():
    document = _document("settlement-id\n1\n", {"created_time": "2025-06-02T03:00:00+00:00"})
    assert list(by_publication_day(document, _days(3))) == [FIRST + timedelta(days=1)]


def test_docs_datasets_md_lists_every_window_rule_as_the_catalogue_has_it():
    import pathlib
    import re

    text = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "datasets.md").read_text()
    section = text.split("## Backfill windows", 1)[1].split("\n## ", 1)[0]
    documented = {name: (int(days), why) for name, days, why in re.findall(r"^\| `(\w+)` \| (\d+) \| (.+?) \|$",
                                                                          section, re.M)}
    assert documented == {e.name: (e.window.max_days, e.window.why) for e in EXTRACTIONS.values()}


def test_windows_are_shared_among_loaders_without_changing_a_window():
    from orchestration.extract.planner import split_among

    windows = plan_windows(_days(548), WindowRule(30, "test"))
    runs = split_among(windows, 3)
    assert [len(r) for r in runs] == [7, 6, 6] and [w for r in runs for w in r] == windows
    assert split_among(windows[:2], 3) == [[windows[0]], [windows[1]]]
    assert split_among([], 3) == []
