"""The extraction catalogue: every way the pipeline asks Amazon for data, and how it fetches one day of it.

An *extraction* is one way of asking Amazon for data (a report type, a settlement listing, an API
listing) and feeds one or more raw tables (datasets, load/datasets.py). Its entry here is the one home of
its facts: the source API, the fetch, whether Amazon serves only the present, how far back it serves,
the daily lookback that re-pulls late or restated data, and the backfill rule shown in the asset's
metadata. Dagster-free, so the asset specs, compliance labels and retention are all built from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from orchestration.extract import data_kiosk
from orchestration.extract.connection import SellerConnection
from orchestration.extract.errors import ReportFatal
from orchestration.extract.finances import MAX_WINDOW, list_financial_event_groups, list_financial_events
from orchestration.extract.finances_transactions import LOOKBACK_DAYS as FINANCES_LOOKBACK_DAYS
from orchestration.extract.finances_transactions import list_transactions
from orchestration.extract.inbound import get_shipments
from orchestration.extract.inventory import get_inventory_summaries
from orchestration.extract.planner import ONE_DAY, WindowRule
from orchestration.extract.reports import ReportDocument, ReportRequester
from orchestration.extract.retries import with_retries
from orchestration.extract.settlements import RETENTION as SETTLEMENT_RETENTION
from orchestration.extract.settlements import published_settlements
from orchestration.extract.windows import (
    Split,
    by_partition_column,
    by_publication_day,
    by_record_field,
    sales_and_traffic,
)
from orchestration.load import datasets as ds
from orchestration.load.datasets import Dataset
from orchestration.settings import (
    FINANCES_V0_REMOVAL,
    FINANCES_V0_SWITCH,
    SALES_TRAFFIC_SOURCE_VARIABLE,
    finances_v0_enabled,
    sales_traffic_source,
)
from orchestration.tenants.registry import Tenant

FATAL_ATTEMPTS = 3  # a FATAL report is requested again this many times before the partition fails
# A settlement's group starts, closes 14 days later and is deposited about 2 days after that: three weeks of
# start days are asked again every day, so the group's final status and deposit are seen.
GROUP_LOOKBACK_DAYS = 21


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


# -- how each extraction fetches its documents ----------------------------------------------------------

Fetch = Callable[[SellerConnection, Tenant, date], list[ReportDocument]]


def _retry_fatal(request: Callable[[], ReportDocument | None]) -> ReportDocument | None:
    """Amazon's FATAL is often passing: ask for a new report; after FATAL_ATTEMPTS the reason is raised."""
    return with_retries(request, on=ReportFatal, attempts=FATAL_ATTEMPTS, max_wait=30)


Window = Callable[[date], tuple[datetime, datetime]]
# (seller, tenant, first day, last day): the documents of one request per marketplace for those UTC days
WindowFetch = Callable[[SellerConnection, Tenant, date, date], list[ReportDocument]]


def snapshot_window(day: date) -> tuple[datetime, datetime]:
    """A snapshot shows the moment the report is made; the fees report wants a start 72 h back."""
    end = datetime.now(UTC)
    return end - timedelta(hours=72), end


def recent_months_window(day: date) -> tuple[datetime, datetime]:
    """The storage-fee report of the last two months: a month's storage is charged early in the next month,
    so the month before last is always charged and last month is once its charge has posted."""
    end = datetime.now(UTC)
    last_month = (end.date().replace(day=1) - timedelta(days=1)).replace(day=1)
    month_before = (last_month - timedelta(days=1)).replace(day=1)
    return datetime.combine(month_before, time(0), tzinfo=UTC), end


def window_bounds(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """[first_day 00:00 UTC, the day after last_day 00:00 UTC): the range of a request for those days."""
    return day_bounds(first_day)[0], day_bounds(last_day)[1]


def _report_documents(
    seller: SellerConnection, tenant: Tenant, report_type: str, start: datetime, end: datetime, options: dict | None
) -> list[ReportDocument]:
    """Create the report per marketplace (all first, Amazon works on them side by side), then collect."""
    requested = []
    for marketplace_id in tenant.marketplace_ids:
        requester = ReportRequester(seller, marketplace_id)
        requested.append((requester, requester.create(report_type, start, end, options)))
    documents = []
    for requester, report_id in requested:
        first = [report_id]

        def once(requester=requester, first=first):
            rid = first.pop() if first else requester.create(report_type, start, end, options)
            return requester.collect(rid, report_type)

        document = _retry_fatal(once)
        if document is not None:  # CANCELLED: Amazon had no data, the partition is empty
            documents.append(document)
    return documents


def report_fetch(
    report_type: str, *, snapshot: bool = False, options: dict | None = None, window: Window | None = None
) -> Fetch:
    """One day's report per marketplace. The data range is the partition's UTC day, the last 72 hours for a
    snapshot, or what `window` says."""

    def fetch(seller: SellerConnection, tenant: Tenant, day: date) -> list[ReportDocument]:
        if window is not None:
            start, end = window(day)
        elif snapshot:
            start, end = snapshot_window(day)
        else:
            start, end = day_bounds(day)
        return _report_documents(seller, tenant, report_type, start, end, options)

    return fetch


def report_window_fetch(report_type: str, *, options: dict | None = None) -> WindowFetch:
    """One report per marketplace covering the whole window of days."""

    def fetch(seller: SellerConnection, tenant: Tenant, first_day: date, last_day: date) -> list[ReportDocument]:
        return _report_documents(seller, tenant, report_type, *window_bounds(first_day, last_day), options)

    return fetch


def one_day(fetch_window: WindowFetch) -> Fetch:
    """The one-day fetch of a windowed one: a window of the partition's day alone."""

    def fetch(seller: SellerConnection, tenant: Tenant, day: date) -> list[ReportDocument]:
        return fetch_window(seller, tenant, day, day)

    return fetch


def _settlements_window(
    seller: SellerConnection, tenant: Tenant, first_day: date, last_day: date
) -> list[ReportDocument]:
    start, end = window_bounds(first_day, last_day)
    return [d for m in tenant.marketplace_ids for d in published_settlements(seller, m, start, end)]


def _finances_window(seller: SellerConnection, tenant: Tenant, first_day: date, last_day: date) -> list[ReportDocument]:
    document = list_financial_events(seller, tenant.marketplace_ids[0], *window_bounds(first_day, last_day))
    return [document] if document is not None else []


def _event_groups_window(
    seller: SellerConnection, tenant: Tenant, first_day: date, last_day: date
) -> list[ReportDocument]:
    # One listing serves every marketplace of the seller: a group names its currency, not its marketplace.
    document = list_financial_event_groups(seller, tenant.marketplace_ids[0], *window_bounds(first_day, last_day))
    return [document] if document is not None else []


def _transactions_window(
    seller: SellerConnection, tenant: Tenant, first_day: date, last_day: date
) -> list[ReportDocument]:
    start, end = window_bounds(first_day, last_day)
    documents = (list_transactions(seller, m, start, end) for m in tenant.marketplace_ids)
    return [d for d in documents if d is not None]


def _inventory_fetch(seller: SellerConnection, tenant: Tenant, day: date) -> list[ReportDocument]:
    return [get_inventory_summaries(seller, m) for m in tenant.marketplace_ids]


def _inbound_fetch(seller: SellerConnection, tenant: Tenant, day: date) -> list[ReportDocument]:
    return [get_shipments(seller, m) for m in tenant.marketplace_ids]






def _v0_switched_off() -> str | None:
    if finances_v0_enabled():
        return None
    return f"Finances v0 is switched off ({FINANCES_V0_SWITCH}=off; Amazon removes it on {FINANCES_V0_REMOVAL})"


SALES_AND_TRAFFIC_OPTIONS = {"dateGranularity": "DAY", "asinGranularity": "SKU"}
SALES_AND_TRAFFIC_HISTORY_DAYS = 730  # Amazon serves two years of sales and traffic
# Amazon restates a day's sales and traffic within 72 hours: the last three days are asked again every day.
SALES_AND_TRAFFIC_RESTATED_DAYS = 3


# Sales and traffic: Data Kiosk unless RETKEE_SALES_TRAFFIC_SOURCE=report, decided when a fetch runs. The report
# is capped per application (once per 15 minutes, 96 a day across all sellers), Data Kiosk is not; both land the
# same rows (load/flatten.py).
_SALES_TRAFFIC_REPORT = report_fetch(ds.SALES_TRAFFIC_BY_DATE.report_type, options=SALES_AND_TRAFFIC_OPTIONS)
_SALES_TRAFFIC_REPORT_WINDOW = report_window_fetch(ds.SALES_TRAFFIC_BY_DATE.report_type,
                                                   options=SALES_AND_TRAFFIC_OPTIONS)


def _sales_traffic_window(seller: SellerConnection, tenant: Tenant, first_day: date, last_day: date
                          ) -> list[ReportDocument]:
    if sales_traffic_source() == "report":
        return _SALES_TRAFFIC_REPORT_WINDOW(seller, tenant, first_day, last_day)
    return with_retries(  # a FATAL query is asked again like a FATAL report
        lambda: data_kiosk.sales_and_traffic(seller, list(tenant.marketplace_ids), first_day, last_day),
        on=ReportFatal, attempts=FATAL_ATTEMPTS, max_wait=30)


def _sales_traffic_fetch(seller: SellerConnection, tenant: Tenant, day: date) -> list[ReportDocument]:
    if sales_traffic_source() == "report":
        return _SALES_TRAFFIC_REPORT(seller, tenant, day)
    return _sales_traffic_window(seller, tenant, day, day)


def _sales_traffic_split(document: ReportDocument, days: list[date]) -> dict[date, ReportDocument]:
    if document.report_type in (ds.SALES_TRAFFIC_BY_DATE.data_kiosk, ds.SALES_TRAFFIC_BY_SKU.data_kiosk):
        return data_kiosk.split_pages(document, days)
    return sales_and_traffic(document, days)


def _sales_traffic_range_totals() -> tuple[str, ...]:
    """The report's SKU section totals its range; Data Kiosk's window asks SKU rows one day at a time."""
    return () if sales_traffic_source() == "data_kiosk" else (ds.SALES_TRAFFIC_BY_SKU.name,)


LEDGER_OPTIONS = {"aggregatedByTimePeriod": "DAILY", "aggregateByLocation": "COUNTRY"}

# The window rules (docs/amazon/spapi-limits.md sections 2-5; docs/datasets.md "Backfill windows").
REPORT_30_DAYS = WindowRule(30, "Amazon serves at most 30 days per All Orders report (a longer range fails: "
                                "'Date range exceeded. Report can be requested only upto 30 days')")
FINANCES_180_DAYS = WindowRule(MAX_WINDOW.days, f"Amazon allows a posted-date window of at most {MAX_WINDOW.days} "
                                                "days per listing, paged")
FBA_REPORT_30_DAYS = WindowRule(30, "Amazon publishes no range limit for this FBA report; 30 days, the limit of the "
                                    "orders and shipments reports, keeps each request inside what Amazon is known "
                                    "to serve")


@dataclass(frozen=True)
class Extraction:
    name: str  # landing-zone folder and Dagster asset group member
    datasets: tuple[Dataset, ...]
    fetch: Fetch
    source_api: str
    snapshot: bool = False  # Amazon serves only the present: only today's partition can be taken
    history_days: int | None = None  # how far back Amazon serves this data
    rule: str = ""  # the backfill rule, shown in the asset's metadata
    lookback_days: int = 0  # the schedule asks this many past days again every day (late, restated data)
    switch: Callable[[], str | None] | None = None  # why the extraction is switched off, or None
    # How many consecutive days one request may cover (docs/amazon/spapi-limits.md), the fetch of such a
    # window (one request per marketplace) and the split of its documents back into days (extract/windows.py).
    window: WindowRule = ONE_DAY
    fetch_window: WindowFetch | None = None
    split: Split | None = None
    # Datasets whose rows total the request's whole range (not per day): only a one-day window fills them. A
    # function when it depends on a setting (sales and traffic: the report's SKU rows do, Data Kiosk's do not).
    range_totals: tuple[str, ...] | Callable[[], tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        if self.window.max_days > 1 and (self.fetch_window is None or self.split is None):
            raise ValueError(f"{self.name}: a window of {self.window.max_days} days needs fetch_window and split")

    def totals_over_range(self) -> tuple[str, ...]:
        """`range_totals` as it stands now (a setting may decide it)."""
        return self.range_totals() if callable(self.range_totals) else self.range_totals

    def unreachable(self, day: date, today: date) -> str | None:
        """Why Amazon cannot serve `day` (the partition is then left as it is), or None."""
        if day > today:
            return f"{day} is in the future"
        off = self.switch() if self.switch else None
        if off:
            return off
        if self.snapshot and day != today:
            return f"{self.name} is a snapshot: Amazon serves only the present, so only {today} can be taken"
        if self.history_days is not None and (today - day).days >= self.history_days:
            return f"{self.name} reaches back {self.history_days} days; {day} is older"
        return None


EXTRACTIONS: dict[str, Extraction] = {
    e.name: e
    for e in (
        Extraction("orders", (ds.ORDERS,), report_fetch(ds.ORDERS.report_type), "Reports API 2021-06-30",
                   rule="one report per marketplace and UTC purchase day",
                   window=REPORT_30_DAYS, fetch_window=report_window_fetch(ds.ORDERS.report_type),
                   split=by_partition_column(ds.ORDERS)),
        Extraction("settlements", (ds.SETTLEMENTS,), one_day(_settlements_window),
                   "Reports API 2021-06-30 (getReports)",
                   history_days=SETTLEMENT_RETENTION.days,
                   window=WindowRule(SETTLEMENT_RETENTION.days,
                                     "Amazon schedules settlement reports: one getReports listing (paged) finds those "
                                     f"published in a window; it keeps them {SETTLEMENT_RETENTION.days} days"),
                   fetch_window=_settlements_window, split=by_publication_day,
                   rule="settlement reports cannot be requested: those published on the day are listed and "
                        "downloaded; Amazon keeps them 90 days"),
        Extraction("financial_events", (ds.FINANCIAL_EVENTS,), one_day(_finances_window), "Finances v0",
                   window=FINANCES_180_DAYS, fetch_window=_finances_window, split=by_record_field("PostedDate"),
                   rule="one listFinancialEvents window per UTC posted day (Amazon allows at most 180 days "
                        f"per window, ending 2 minutes before now); deprecated, removed {FINANCES_V0_REMOVAL}, "
                        f"runs while {FINANCES_V0_SWITCH}=on",
                   switch=_v0_switched_off),
        Extraction("finance_transactions", (ds.FINANCE_TRANSACTIONS,), one_day(_transactions_window),
                   "Finances 2024-06-19",
                   window=FINANCES_180_DAYS, fetch_window=_transactions_window, split=by_record_field("postedDate"),
                   lookback_days=FINANCES_LOOKBACK_DAYS,
                   rule="one listTransactions window per marketplace and UTC posted day; the last "
                        f"{FINANCES_LOOKBACK_DAYS} days are asked again every day (deferred money is released "
                        "and restated later)"),
        Extraction("financial_event_groups", (ds.FINANCIAL_EVENT_GROUPS,), one_day(_event_groups_window), "Finances v0",
                   window=FINANCES_180_DAYS, fetch_window=_event_groups_window,
                   split=by_record_field("FinancialEventGroupStart"),
                   lookback_days=GROUP_LOOKBACK_DAYS,
                   rule="one listFinancialEventGroups window per UTC day the groups started; the last "
                        f"{GROUP_LOOKBACK_DAYS} days are asked again every day (a group closes 14 days after it "
                        "starts and is paid out 2 days later)"),
        Extraction("inventory_snapshots", (ds.INVENTORY_SNAPSHOTS,),
                   report_fetch(ds.INVENTORY_SNAPSHOTS.report_type, snapshot=True), "Reports API 2021-06-30",
                   snapshot=True, rule="snapshot of today"),
        Extraction("inventory_summaries", (ds.INVENTORY_SUMMARIES,), _inventory_fetch, "FBA Inventory v1",
                   snapshot=True, rule="snapshot of today"),
        Extraction("inbound_shipments", (ds.INBOUND_SHIPMENTS,), _inbound_fetch, "Fulfillment Inbound v0",
                   snapshot=True, rule="snapshot of today: shipments updated in the last 90 days"),
        Extraction("listings", (ds.LISTINGS,), report_fetch(ds.LISTINGS.report_type, snapshot=True),
                   "Reports API 2021-06-30", snapshot=True, rule="snapshot of today"),
        Extraction("estimated_fees", (ds.ESTIMATED_FEES,),
                   report_fetch(ds.ESTIMATED_FEES.report_type, snapshot=True), "Reports API 2021-06-30",
                   snapshot=True, rule="snapshot of today (report window: the last 72 hours)"),
        Extraction("sales_traffic", (ds.SALES_TRAFFIC_BY_DATE, ds.SALES_TRAFFIC_BY_SKU), _sales_traffic_fetch,
                   f"Data Kiosk 2023-11-15 ({ds.SALES_TRAFFIC_BY_DATE.data_kiosk.split('.')[0]}); Reports API "
                   f"2021-06-30 when {SALES_TRAFFIC_SOURCE_VARIABLE}=report",
                   history_days=SALES_AND_TRAFFIC_HISTORY_DAYS,
                   rule="Data Kiosk: one salesAndTrafficByDate query (every marketplace, a range of days) and one "
                        "salesAndTrafficByAsin query per UTC day; with the report: one report per marketplace and UTC "
                        "day, at most one per 15 minutes per application; Amazon serves two years; the last "
                        f"{SALES_AND_TRAFFIC_RESTATED_DAYS} days are asked again every day (Amazon restates them "
                        "within 72 hours)",
                   lookback_days=SALES_AND_TRAFFIC_RESTATED_DAYS,
                   window=WindowRule(SALES_AND_TRAFFIC_HISTORY_DAYS,
                                     "Data Kiosk: one salesAndTrafficByDate query covers any range of the two years "
                                     "Amazon serves, in every marketplace, and SKU rows come from one query per day; "
                                     "the report: one at DAY granularity covers any range, its SKU section totals the "
                                     "whole range, so SKU rows come from one-day reports"),
                   fetch_window=_sales_traffic_window, split=_sales_traffic_split,
                   range_totals=_sales_traffic_range_totals),
        Extraction("fulfilled_shipments", (ds.FULFILLED_SHIPMENTS,), report_fetch(ds.FULFILLED_SHIPMENTS.report_type),
                   "Reports API 2021-06-30",
                   rule="one report per marketplace and UTC shipment day (Amazon allows one month per report)",
                   window=WindowRule(30, "Amazon allows one month per fulfilled-shipments report; 30 days fit "
                                         "in every month"),
                   fetch_window=report_window_fetch(ds.FULFILLED_SHIPMENTS.report_type),
                   split=by_partition_column(ds.FULFILLED_SHIPMENTS)),
        Extraction("storage_fees", (ds.STORAGE_FEES,),
                   report_fetch(ds.STORAGE_FEES.report_type, window=recent_months_window), "Reports API 2021-06-30",
                   snapshot=True,
                   rule="snapshot of today, once a day: the storage-fee report of the last two months (a month is "
                        "charged early in the next; the report is by month_of_charge, never per day)"),
        Extraction("reimbursements", (ds.REIMBURSEMENTS,), report_fetch(ds.REIMBURSEMENTS.report_type),
                   "Reports API 2021-06-30", rule="one report per marketplace and UTC approval day",
                   window=FBA_REPORT_30_DAYS, fetch_window=report_window_fetch(ds.REIMBURSEMENTS.report_type),
                   split=by_partition_column(ds.REIMBURSEMENTS)),
        Extraction("customer_returns", (ds.CUSTOMER_RETURNS,), report_fetch(ds.CUSTOMER_RETURNS.report_type),
                   "Reports API 2021-06-30", rule="one report per marketplace and UTC return day",
                   window=FBA_REPORT_30_DAYS, fetch_window=report_window_fetch(ds.CUSTOMER_RETURNS.report_type),
                   split=by_partition_column(ds.CUSTOMER_RETURNS)),
        Extraction("inventory_ledger", (ds.INVENTORY_LEDGER,),
                   report_fetch(ds.INVENTORY_LEDGER.report_type, options=LEDGER_OPTIONS),
                   "Reports API 2021-06-30",
                   rule="one report per marketplace and UTC day (summary view, daily, by country); a day is "
                        "in the ledger once it is over",
                   window=FBA_REPORT_30_DAYS,
                   fetch_window=report_window_fetch(ds.INVENTORY_LEDGER.report_type, options=LEDGER_OPTIONS),
                   split=by_partition_column(ds.INVENTORY_LEDGER)),
    )
}


def extraction_of(dataset: Dataset) -> Extraction:
    return next(e for e in EXTRACTIONS.values() if dataset in e.datasets)
