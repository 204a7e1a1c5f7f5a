"""V2 settlement reports: Amazon generates them on its own schedule, so they are listed and downloaded.

getReports finds the DONE settlement reports created (published) in a window, per marketplace;
each one's document is downloaded like any other report. Amazon keeps reports for 90 days, so only
windows inside the last RETENTION can be listed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from orchestration.extract.connection import SellerConnection
from orchestration.extract.reports import ReportDocument, ReportRequester

SETTLEMENT_REPORT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
RETENTION = timedelta(days=90)


def published_settlements(
    connection: SellerConnection, marketplace_id: str, start: datetime, end: datetime
) -> list[ReportDocument]:
    requester = ReportRequester(connection, marketplace_id)
    reports = requester.list_done(SETTLEMENT_REPORT, start, end)
    documents = []
    for report in sorted(reports, key=lambda r: r["reportId"]):
        created = report.get("createdTime", "")
        # createdUntil is inclusive at Amazon; the next day's partition owns a report made at midnight.
        if created and datetime.fromisoformat(created.replace("Z", "+00:00")) >= end:
            continue
        document = requester.download(SETTLEMENT_REPORT, report["reportId"], report["reportDocumentId"], "utf-8")
        documents.append(requester.with_context(document, report))
    return documents
