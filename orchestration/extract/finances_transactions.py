"""Finances 2024-06-19 listTransactions: every money transaction posted in a window, per marketplace, every page.

This is the pipeline's money source. It replaces Finances v0 listFinancialEvents (extract/finances.py),
which Amazon deprecated and removes on 2027-08-27 (docs/amazon/spapi-money.md section 2); v0 stays
available behind RETKEE_FINANCES_V0 until then. Amazon's rules are v0's: postedAfter/postedBefore at most
180 days apart, postedBefore at least 2 minutes before now, nextToken sent WITH the same arguments, and
pages may be empty. The marketplace is always named: without it Amazon answers with US MFN orders only.

Money is late and restated: a deferred transaction is released days later (its status becomes
DEFERRED_RELEASED), and orders of the last 48 hours may be missing. The pipeline asks one UTC posted day
per partition and asks the last LOOKBACK_DAYS days again every day (orchestration/defs/schedules.py), so
a partition is replaced by what Amazon says now.
"""

from __future__ import annotations

from datetime import datetime

from sp_api.api import FinancesV20240619

from orchestration.extract.connection import SellerConnection
from orchestration.extract.finances import posted_window
from orchestration.extract.pages import all_pages, pages_document
from orchestration.extract.reports import ReportDocument

OPERATION = "listTransactions"
# Days of posted money asked again every day: deferred order payments are released 7 days after delivery
# (DD+7) and delivery takes up to about a week, so two weeks covers a release and a late restatement.
LOOKBACK_DAYS = 14


def _timestamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def list_transactions(
    connection: SellerConnection, marketplace_id: str, start: datetime, end: datetime
) -> ReportDocument | None:
    """All pages of the marketplace's transactions posted in [start, end); None when none of it is legal yet."""
    window = posted_window(start, end)
    if window is None:
        return None
    client = connection.client(FinancesV20240619, marketplace_id)
    arguments = {"postedAfter": _timestamp(window[0]), "postedBefore": _timestamp(window[1]),
                 "marketplaceId": marketplace_id}
    pages = all_pages(OPERATION, client.list_transactions, "nextToken", connection=connection, **arguments)
    context = {"posted_after": arguments["postedAfter"], "posted_before": arguments["postedBefore"],
               "marketplace_id": marketplace_id}
    return pages_document(OPERATION, pages, context, arguments)
