"""A tenant's extractions over a range of days, side by side: onboarding's history and `retkee backfill`.

Each extraction runs `ingest_window` (load/pipeline.py) on its own thread with its own warehouse connection,
so while one waits for Amazon (a report being made, a rate-limit bucket refilling) another downloads,
parses and loads: a report's processing overlaps the next request's wait. The threads share the seller's
rate-limit buckets (extract/ratelimit.py), so together they never ask faster than Amazon's usage plans.
A failing extraction does not stop the others; its error is returned with its name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import date

import psycopg

from orchestration.extract.catalogue import Extraction
from orchestration.extract.connection import SellerConnection
from orchestration.land.landing_zone import LandingZone
from orchestration.load.pipeline import PartitionOutcome, ingest_window
from orchestration.secrets.vault import Vault
from orchestration.settings import Settings
from orchestration.tenants.registry import Tenant
from orchestration.warehouse.connection import connect as warehouse_connect
from orchestration.warehouse.grants import tenant_scope

Connect = Callable[[], AbstractContextManager[psycopg.Connection]]

log = logging.getLogger(__name__)


@dataclass
class ExtractionRange:
    """What one extraction of the range gave: an outcome per day per dataset, or the error that stopped it."""

    extraction: str
    outcomes: list[PartitionOutcome] = field(default_factory=list)
    error: BaseException | None = None


def ingest_extractions(
    *,
    tenant: Tenant,
    extractions: Iterable[Extraction],
    first_day: date,
    last_day: date,
    vault: Vault,
    seller: SellerConnection,
    landing: LandingZone,
    connect: Connect,
    today: date | None = None,
    workers: int | None = None,
) -> list[ExtractionRange]:
    """Every extraction's days first_day..last_day, each extraction on its own thread (`workers` at most,
    default one per extraction); `connect` opens a warehouse connection in the tenant's scope, one per thread
    (a psycopg connection is not shared between threads; `tenant_connections` makes one). Results in the
    order of `extractions`."""
    chosen = list(extractions)

    def one(extraction: Extraction) -> ExtractionRange:
        result = ExtractionRange(extraction.name)
        try:
            with connect() as conn:
                result.outcomes = ingest_window(
                    tenant=tenant, extraction=extraction, first_day=first_day, last_day=last_day, vault=vault,
                    seller=seller, landing=landing, conn=conn, today=today,
                )
        except Exception as error:  # one extraction's failure is reported; the others go on
            log.warning("%s: %s %s..%s failed: %s", tenant.tenant_id, extraction.name, first_day, last_day, error)
            result.error = error
        return result

    if not chosen:
        return []
    with ThreadPoolExecutor(max_workers=workers or len(chosen), thread_name_prefix="backfill") as pool:
        return list(pool.map(one, chosen))


def tenant_connections(settings: Settings, vault: Vault, tenant_id: str) -> Connect:
    """A factory of pipeline connections in the tenant's scope, one per `with`, for `ingest_extractions`."""

    @contextmanager
    def scoped() -> Iterator[psycopg.Connection]:
        with warehouse_connect(settings, vault) as conn, tenant_scope(conn, tenant_id):
            yield conn

    return scoped
