"""FBA Inventory v1 getInventorySummaries: one marketplace's AFN stock now, every page, with details.

A nextToken expires 30 seconds after it is made, so pages are fetched back to back; if one expires
anyway (a long throttle), the whole listing starts again rather than mixing two moments.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sp_api.api import Inventories
from sp_api.base import exceptions as api_exceptions

from orchestration.extract.connection import SellerConnection
from orchestration.extract.errors import TransientApiError
from orchestration.extract.pages import pages_document
from orchestration.extract.reports import ReportDocument, call_api
from orchestration.extract.retries import with_retries


def get_inventory_summaries(connection: SellerConnection, marketplace_id: str) -> ReportDocument:
    client = connection.client(Inventories, marketplace_id)
    arguments = {
        "granularityType": "Marketplace",
        "granularityId": marketplace_id,
        "marketplaceIds": marketplace_id,
        "details": "true",
    }

    def listing() -> tuple[list[dict], str]:
        snapshot_at = datetime.now(UTC).isoformat()
        pages, token = [], None
        while True:
            extra = {"nextToken": token} if token else {}
            try:
                response = call_api(
                    "getInventorySummaries", client.get_inventory_summary_marketplace,
                    connection=connection, **arguments, **extra,
                )
            except api_exceptions.SellingApiBadRequestException:
                if token:
                    raise TransientApiError("getInventorySummaries: nextToken expired; listing again") from None
                raise
            body = {"payload": response.payload, "pagination": response.pagination or {}}
            pages.append(body)
            token = (response.pagination or {}).get("nextToken")
            if not token:
                return pages, snapshot_at

    pages, snapshot_at = with_retries(listing, on=TransientApiError, attempts=4, max_wait=10)
    context = {"marketplace_id": marketplace_id, "snapshot_at": snapshot_at}
    return pages_document("getInventorySummaries", pages, context, arguments)
