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
from orchestration.extract.finances import list_financial_event_groups, list_financial_events
from orchestration.extract.finances_transactions import LOOKBACK_DAYS as FINANCES_LOOKBACK_DAYS
from orchestration.extract.finances_transactions import list_transactions
from orchestration.extract.inbound import get_shipments
from orchestration.extract.inventory import get_inventory_summaries
from orchestration.extract.reports import ReportDocument, ReportRequester
from orchestration.extract.retries import with_retries
from orchestration.extract.settlements import RETENTION as SETTLEMENT_RETENTION
from orchestration.extract.settlements import published_settlements
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


def report_fetch(
    report_type: str, *, snapshot: bool = False, options: dict | None = None, window: Window | None = None
) -> Fetch:
    """Create the report per marketplace (all first, Amazon works on them side by side), then collect.

    The data range is the partition's UTC day, the last 72 hours for a snapshot, or what `window` says."""

    def fetch(seller: SellerConnection, tenant: Tenant, day: date) -> list[ReportDocument]:
        if window is not None:
            start, end = window(day)
        elif snapshot:
            start, end = snapshot_window(day)
        else:
            start, end = day_bounds(day)
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

    return fetch


def _settlements_fetch(seller: SellerConnection, tenant: Tenant, day: date) -> list[ReportDocument]:
    start, end = day_bounds(day)
    return [d for m in tenant.marketplace_ids for d in published_settlements(seller, m, start, end)]


def _finances_fetch(seller: SellerConnection, tenant: Tenant, day: date) -> list[ReportDocument]:
    start, end = day_bounds(day)
    document = list_financial_events(seller, tenant.marketplace_ids[0], start, end)
    return [document] if document is not None else []


def _event_groups_fetch(seller: SellerConnection, tenant: Tenant, day: date) -> list[ReportDocument]:
    # One listing serves every marketplace of the seller: a group names its currency, not its marketplace.
    start, end = day_bounds(day)
    document = list_financial_event_groups(seller, tenant.marketplace_ids[0], start, end)
    return [document] if document is not None else []


def _transactions_fetch(seller: SellerConnection, tenant: Tenant, day: date) -> list[ReportDocument]:
    start, end = day_bounds(day)
    documents = (list_transactions(seller, m, start, end) for m in tenant.marketplace_ids)
    return [d for d in documents if d is not None]


def _inventory_fetch(seller: SellerConnection, tenant: Tenant, day: date) -> list[ReportDocument]:
    return [get_inventory_summaries(seller, m) for m in tenant.marketplace_ids]


def _inbound_fetch(seller: SellerConnection, tenant: Tenant, day: date) -> list[ReportDocument]:
    return [get_shipments(seller, m) for m in tenant.marketplace_ids]


_SALES_TRAFFIC_REPORT = report_fetch(ds.SALES_TRAFFIC_BY_DATE.report_type,
                                     options={"dateGranularity": "DAY", "asinGranularity": "SKU"})


def _sales_traffic_fetch(seller: SellerConnection, tenant: Tenant, day: date) -> list[ReportDocument]:
    """Data Kiosk unless RETKEE_SALES_TRAFFIC_SOURCE=report: the report is capped per application (once per 15
    minutes, 96 a day across all sellers), Data Kiosk is not. Both land the same rows (load/flatten.py)."""
    if sales_traffic_source() == "report":
        return _SALES_TRAFFIC_REPORT(seller, tenant, day)
    return with_retries(lambda: data_kiosk.sales_and_traffic(seller, list(tenant.marketplace_ids), day, day),
                        on=ReportFatal, attempts=FATAL_ATTEMPTS, max_wait=30)  # a FATAL query: as a FATAL report


def _v0_switched_off() -> str | None:
    if finances_v0_enabled():
        return None
    return f"Finances v0 is switched off ({FINANCES_V0_SWITCH}=off; Amazon removes it on {FINANCES_V0_REMOVAL})"


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
                   rule="one report per marketplace and UTC purchase day"),
        Extraction("settlements", (ds.SETTLEMENTS,), _settlements_fetch, "Reports API 2021-06-30 (getReports)",
                   history_days=SETTLEMENT_RETENTION.days,
                   rule="settlement reports cannot be requested: those published on the day are listed and "
                        "downloaded; Amazon keeps them 90 days"),
        Extraction("financial_events", (ds.FINANCIAL_EVENTS,), _finances_fetch, "Finances v0",
                   rule="one listFinancialEvents window per UTC posted day (Amazon allows at most 180 days "
                        f"per window, ending 2 minutes before now); deprecated, removed {FINANCES_V0_REMOVAL}, "
                        f"runs while {FINANCES_V0_SWITCH}=on",
                   switch=_v0_switched_off),
        Extraction("finance_transactions", (ds.FINANCE_TRANSACTIONS,), _transactions_fetch, "Finances 2024-06-19",
                   lookback_days=FINANCES_LOOKBACK_DAYS,
                   rule="one listTransactions window per marketplace and UTC posted day; the last "
                        f"{FINANCES_LOOKBACK_DAYS} days are asked again every day (deferred money is released "
                        "and restated later)"),
        Extraction("financial_event_groups", (ds.FINANCIAL_EVENT_GROUPS,), _event_groups_fetch, "Finances v0",
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
                   f"2021-06-30 when {SALES_TRAFFIC_SOURCE_VARIABLE}=report", history_days=730,
                   rule="Data Kiosk: one salesAndTrafficByDate query (every marketplace, a range of days) and one "
                        "salesAndTrafficByAsin query per UTC day; with the report: one report per marketplace and UTC "
                        "day, at most one per 15 minutes per application; Amazon serves two years"),
        Extraction("fulfilled_shipments", (ds.FULFILLED_SHIPMENTS,), report_fetch(ds.FULFILLED_SHIPMENTS.report_type),
                   "Reports API 2021-06-30",
                   rule="one report per marketplace and UTC shipment day (Amazon allows one month per report)"),
        Extraction("storage_fees", (ds.STORAGE_FEES,),
                   report_fetch(ds.STORAGE_FEES.report_type, window=recent_months_window), "Reports API 2021-06-30",
                   snapshot=True,
                   rule="snapshot of today, once a day: the storage-fee report of the last two months (a month is "
                        "charged early in the next; the report is by month_of_charge, never per day)"),
        Extraction("reimbursements", (ds.REIMBURSEMENTS,), report_fetch(ds.REIMBURSEMENTS.report_type),
                   "Reports API 2021-06-30", rule="one report per marketplace and UTC approval day"),
        Extraction("customer_returns", (ds.CUSTOMER_RETURNS,), report_fetch(ds.CUSTOMER_RETURNS.report_type),
                   "Reports API 2021-06-30", rule="one report per marketplace and UTC return day"),
        Extraction("inventory_ledger", (ds.INVENTORY_LEDGER,),
                   report_fetch(ds.INVENTORY_LEDGER.report_type,
                                options={"aggregatedByTimePeriod": "DAILY", "aggregateByLocation": "COUNTRY"}),
                   "Reports API 2021-06-30",
                   rule="one report per marketplace and UTC day (summary view, daily, by country); a day is "
                        "in the ledger once it is over"),
    )
}


def extraction_of(dataset: Dataset) -> Extraction:
    return next(e for e in EXTRACTIONS.values() if dataset in e.datasets)
