"""A 90-day backfill asks Amazon in windows: the sandbox counts the planned calls, every day holds exactly the
rows Amazon has for it, and a day whose sales and traffic Amazon restates is pulled again and replaced.

The expected call counts are worked out here from Amazon's window rules (docs/amazon/spapi-limits.md), not by
asking the planner; the expected rows come from the sandbox's world (what it serves), not from the pipeline.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest
from psycopg import sql

from local_stack.demo import admin_request
from tests.integration.conftest import US, world_for

pytestmark = pytest.mark.integration

DAYS = 90
# Amazon's rules, by hand: an All Orders, fulfilled-shipments or reimbursements report covers at most 30 days
# (we keep the FBA reports to 30 too), a sales-and-traffic report any range at DAY granularity, settlements
# are listed with one getReports call for the 90 days Amazon keeps them (89 of ours: the 90th day back is
# past the retention), listTransactions windows reach 180 days. Sales and traffic come from Data Kiosk (the
# default): one salesAndTrafficByDate query for the whole range, and one salesAndTrafficByAsin query per day
# (it totals its range).
EXTRACTED = ("orders", "fulfilled_shipments", "reimbursements", "sales_traffic", "settlements",
             "finance_transactions")
EXPECTED_CREATE_REPORT = 3 + 3 + 3  # 90/30 orders + 90/30 shipments + 90/30 reimbursements
EXPECTED_CREATE_QUERY = 1 + DAYS  # one by-date range query + one by-SKU query per day (6 SKUs: one page each)
EXPECTED_GET_REPORTS = 1  # one settlements listing, one page (a few settlements in 90 days)


def _days(today: date) -> list[date]:
    return [today - timedelta(days=n) for n in range(DAYS, 0, -1)]  # the 90 days ending yesterday


def _ingest(settings, tenant_id: str, names, first_day: date, last_day: date, **options):
    from orchestration.defs.resources import open_session
    from orchestration.extract.catalogue import EXTRACTIONS
    from orchestration.load.backfill import ingest_extractions, tenant_connections

    with open_session(settings) as session:
        tenant = session.registry.get(tenant_id)
        seller = session.seller_connection(tenant)
        results = ingest_extractions(
            tenant=tenant, extractions=[EXTRACTIONS[n] for n in names], first_day=first_day, last_day=last_day,
            vault=session.vault, seller=seller, landing=session.landing,
            connect=tenant_connections(settings, session.vault, tenant_id), **options,
        )
    failed = {r.extraction: repr(r.error) for r in results if r.error}
    assert not failed, failed
    return {r.extraction: r.outcomes for r in results}


def _calls(stack, seller_id: str) -> dict[str, int]:
    rows = admin_request(stack, "GET", f"/_sandbox/calls?seller_id={seller_id}")["calls"]
    return {row["operation"]: row["admitted"] for row in rows if row["seller_id"] == seller_id}


def _rows(settings, tenant_id: str, statement: str, params=()) -> list[tuple]:
    from orchestration.defs.resources import open_session

    with open_session(settings) as session, session.conn.cursor() as cur:
        cur.execute(sql.SQL(statement).format(raw=sql.Identifier(f"{tenant_id}_raw")), params)
        return cur.fetchall()


@pytest.fixture(scope="module")
def backfilled(pipeline_stack, settings, onboard):
    seller, tenant = onboard("AWINDOWBACKF01", (US,), {"skus": 6, "orders_per_day": 10})
    today = datetime.now(UTC).date()
    days = _days(today)
    started = datetime.now(UTC)
    outcomes = _ingest(settings, tenant.tenant_id, EXTRACTED, days[0], days[-1])
    return seller, tenant, days, outcomes, _calls(pipeline_stack, seller.seller_id), started


def test_a_90_day_backfill_makes_the_planned_calls(backfilled):
    _, _, days, outcomes, calls, _ = backfilled
    assert calls.get("createReport") == EXPECTED_CREATE_REPORT, calls  # one per day would be 4 x 90 = 360
    assert calls.get("getReports") == EXPECTED_GET_REPORTS, calls
    assert calls.get("createQuery") == EXPECTED_CREATE_QUERY, calls
    assert 1 <= calls.get("listTransactions", 0) < DAYS, calls  # one window and its pages, never one per day
    # Still one outcome per day per dataset: daily partitions stay the unit of status and lineage.
    for name in ("orders", "fulfilled_shipments", "reimbursements", "finance_transactions"):
        assert [o.partition for o in outcomes[name]] == [d.isoformat() for d in days], name
    by_sku = [o for o in outcomes["sales_traffic"] if o.dataset == "sales_traffic_by_sku"]
    assert [o.partition for o in by_sku] == [d.isoformat() for d in days]  # a by-SKU query per day: all whole
    assert not any(o.skipped for o in by_sku) and all(o.load.rows == 6 for o in by_sku)
    settled = [o for o in outcomes["settlements"] if not o.skipped]
    assert len(settled) == DAYS - 1  # the 90th day back is past Amazon's 90-day retention of settlements


def test_every_day_of_a_window_holds_exactly_amazons_rows_for_it(pipeline_stack, settings, backfilled):
    seller, tenant, days, _, _, started = backfilled
    world = world_for(pipeline_stack)
    start, end = datetime.combine(days[0], time(), UTC), datetime.combine(days[-1] + timedelta(days=1), time(), UTC)
    expected = Counter(row["purchase-date"].astimezone(UTC).date().isoformat()
                       for row in world.order_items(seller.seller_id, start, end, [US], as_of=started))
    loaded = dict(_rows(settings, tenant.tenant_id, "select _partition, count(*) from {raw}.orders group by 1"))
    assert expected and loaded == dict(expected)
    outside = _rows(settings, tenant.tenant_id,
                    "select count(*) from {raw}.orders where (purchase_date at time zone 'UTC')::date::text"
                    " <> _partition")
    assert outside == [(0,)]
    sessions = dict(_rows(settings, tenant.tenant_id,
                          "select _partition, sessions from {raw}.sales_traffic_by_date"))
    truth = world.sales_and_traffic(seller.seller_id, US, start, end, "DAY", "SKU")["salesAndTrafficByDate"]
    assert sessions == {entry["date"]: entry["trafficByDate"]["sessions"] for entry in truth}


def test_a_restated_day_of_sales_and_traffic_is_pulled_again_and_replaces_its_rows(
        pipeline_stack, settings, backfilled):
    from orchestration.extract.catalogue import EXTRACTIONS
    from orchestration.extract.planner import restated_days

    seller, tenant, days, _, _, _ = backfilled
    today = days[-1] + timedelta(days=1)  # the backfill's today, even when the suite has crossed midnight since
    lookback = restated_days(today, EXTRACTIONS["sales_traffic"].lookback_days)
    assert lookback == [today - timedelta(days=3), today - timedelta(days=2), today - timedelta(days=1)]
    restated = lookback[1]
    query = "select sessions, sku from {raw}.{table} where _partition = %s"
    by_date = "select sessions from {raw}.sales_traffic_by_date where _partition = %s"
    before = _rows(settings, tenant.tenant_id, by_date, (restated.isoformat(),))
    admin_request(pipeline_stack, "POST", f"/_sandbox/sellers/{seller.seller_id}/restate-traffic",
                  {"marketplace_id": US, "day": restated.isoformat()})
    creates = _calls(pipeline_stack, seller.seller_id)["createQuery"]
    _ingest(settings, tenant.tenant_id, ["sales_traffic"], lookback[0], lookback[-1])  # the daily re-pull
    # One by-date query for the three days, one by-SKU query per day: both tables of each day are replaced.
    assert _calls(pipeline_stack, seller.seller_id)["createQuery"] == creates + 1 + len(lookback)
    after = _rows(settings, tenant.tenant_id, by_date, (restated.isoformat(),))
    start = datetime.combine(restated, time(), UTC)
    truth = world_for(pipeline_stack).sales_and_traffic(seller.seller_id, US, start, start + timedelta(days=1),
                                                         "DAY", "SKU")
    assert len(after) == 1 and after != before
    assert after[0][0] == truth["salesAndTrafficByDate"][0]["trafficByDate"]["sessions"]
    skus = _rows(settings, tenant.tenant_id, query.replace("{table}", "sales_traffic_by_sku"),
                 (restated.isoformat(),))
    assert sorted((s, k) for s, k in skus) == sorted(
        (a["trafficByAsin"]["sessions"], a["sku"]) for a in truth["salesAndTrafficByAsin"])


def _admitted_at(stack, seller_id: str, operation: str) -> list[float]:
    """When the sandbox admitted the seller's calls of `operation` (its own clock), oldest first."""
    log = admin_request(stack, "GET", f"/_sandbox/calls?seller_id={seller_id}&log=true")["log"]
    return sorted(e["at"] for e in log if e["operation"] == operation and e["outcome"] == "admitted")


def test_the_next_windows_are_asked_for_before_the_previous_ones_documents_are_downloaded(
        pipeline_stack, settings, onboard):
    # One loader per extraction, so only the pipelining inside it can overlap its windows. 45 days of orders
    # are two 30-day windows (two createReport, two getReportDocument: nothing else of this seller asks those);
    # four days of sales and traffic are five Data Kiosk queries (one by-date, four by-SKU).
    seller, tenant = onboard("AWINDOWOVERL01", (US,), {"skus": 3, "orders_per_day": 5})
    today = datetime.now(UTC).date()
    _ingest(settings, tenant.tenant_id, ["orders"], today - timedelta(days=45), today - timedelta(days=1),
            loaders=1)
    _ingest(settings, tenant.tenant_id, ["sales_traffic"], today - timedelta(days=4), today - timedelta(days=1),
            loaders=1)
    creates = _admitted_at(pipeline_stack, seller.seller_id, "createReport")
    downloads = _admitted_at(pipeline_stack, seller.seller_id, "getReportDocument")
    assert len(creates) == 2 and len(downloads) == 2, (creates, downloads)
    # The second window's report is asked for while the first one's is made: one after the other, the second
    # createReport would come after the first getReportDocument.
    assert creates[1] < downloads[0], (creates, downloads)
    queries = _admitted_at(pipeline_stack, seller.seller_id, "createQuery")
    documents = _admitted_at(pipeline_stack, seller.seller_id, "getDocument")
    assert len(queries) == 5 and len(documents) == 5, (queries, documents)
    # Several queries in flight: more than one had been asked before the first document was fetched.
    assert sum(1 for t in queries if t < documents[0]) >= 2, (queries, documents)


# The same backfill through Dagster (the path of the UI, the schedule, `retkee refresh` and `retkee backfill`):
# every daily table over 60 days ending yesterday, one extraction run. By hand, per marketplace: orders,
# fulfilled shipments, reimbursements, customer returns and the inventory ledger are each 60/30 = 2 reports;
# sales and traffic is one Data Kiosk by-date query for the range plus one by-SKU query per day; settlements one
# getReports listing.
DAGSTER_DAYS = 60
DAGSTER_CREATE_REPORT = 5 * (DAGSTER_DAYS // 30)  # one per day would be 5 x 60 = 300
DAGSTER_CREATE_QUERY = 1 + DAGSTER_DAYS


def test_a_backfill_through_dagster_asks_in_windows_and_materializes_every_day(pipeline_stack, onboard, instance):
    from dagster import AssetKey

    from orchestration.defs.partitions import tenant_day
    from orchestration.refresh import refresh

    seller, tenant = onboard("AWINDOWDAGST01", (US,), {"skus": 3, "orders_per_day": 5})
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=n) for n in range(DAGSTER_DAYS, 0, -1)]
    report = refresh([tenant.tenant_id], days, instance=instance, snapshots=False, marts=False)
    assert report.failed == [] and len(report.succeeded) == 1, report  # one run for the 60 consecutive days
    calls = _calls(pipeline_stack, seller.seller_id)
    assert calls.get("createReport") == DAGSTER_CREATE_REPORT, calls
    assert calls.get("createQuery") == DAGSTER_CREATE_QUERY, calls
    assert calls.get("getReports") == 1, calls
    materialized = instance.get_materialized_partitions(AssetKey(["raw", "orders"]))
    assert {str(tenant_day(tenant.tenant_id, d)) for d in days} <= materialized
    assert {k for k in materialized if tenant.tenant_id in k} == {str(tenant_day(tenant.tenant_id, d)) for d in days}
