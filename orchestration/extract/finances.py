"""Finances v0: listFinancialEvents (every money event posted in a window, every page) and
listFinancialEventGroups (the settlements' deposits).

Amazon's rules: PostedAfter/PostedBefore at most 180 days apart and PostedBefore at least 2 minutes
before now; NextToken is sent WITH the same arguments. The pipeline asks one UTC day per partition, so
a backfill of any length is made of legal windows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sp_api.api import FinancesV0

from orchestration.extract.connection import SellerConnection
from orchestration.extract.pages import all_pages, pages_document
from orchestration.extract.reports import ReportDocument

MAX_WINDOW = timedelta(days=180)
MIN_AGE = timedelta(minutes=3)  # Amazon wants 2; one more absorbs clock skew


def posted_window(start: datetime, end: datetime, now: datetime | None = None) -> tuple[datetime, datetime] | None:
    """The legal part of [start, end): clipped to `now - MIN_AGE`; None when nothing of it is legal yet."""
    now = now or datetime.now(UTC)
    end = min(end, now - MIN_AGE)
    if end <= start:
        return None
    if end - start > MAX_WINDOW:
        raise ValueError(f"a Finances window is at most {MAX_WINDOW.days} days")
    return start, end


def list_financial_events(
    connection: SellerConnection, marketplace_id: str, start: datetime, end: datetime
) -> ReportDocument | None:
    window = posted_window(start, end)
    if window is None:
        return None
    client = connection.client(FinancesV0, marketplace_id)
    arguments = {
        "PostedAfter": window[0].isoformat().replace("+00:00", "Z"),
        "PostedBefore": window[1].isoformat().replace("+00:00", "Z"),
        "MaxResultsPerPage": 100,
    }
    pages = all_pages("listFinancialEvents", client.list_financial_events, "NextToken", connection=connection,
                      **arguments)
    context = {"posted_after": arguments["PostedAfter"], "posted_before": arguments["PostedBefore"]}
    return pages_document("listFinancialEvents", pages, context, arguments)


def list_financial_event_groups(
    connection: SellerConnection, marketplace_id: str, start: datetime, end: datetime
) -> ReportDocument | None:
    """The financial event groups (one per settlement and marketplace: its period, total and deposit) that
    started in [start, end). Not deprecated: Amazon's 2025 notice removes only the event listings."""
    window = posted_window(start, end)
    if window is None:
        return None
    client = connection.client(FinancesV0, marketplace_id)
    arguments = {
        "FinancialEventGroupStartedAfter": window[0].isoformat().replace("+00:00", "Z"),
        "FinancialEventGroupStartedBefore": window[1].isoformat().replace("+00:00", "Z"),
        "MaxResultsPerPage": 100,
    }
    pages = all_pages("listFinancialEventGroups", client.list_financial_event_groups, "NextToken",
                      connection=connection, **arguments)
    context = {"started_after": arguments["FinancialEventGroupStartedAfter"],
               "started_before": arguments["FinancialEventGroupStartedBefore"]}
    return pages_document("listFinancialEventGroups", pages, context, arguments)
