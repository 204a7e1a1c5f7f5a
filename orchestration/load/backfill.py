"""A tenant's extractions over a range of days, side by side: onboarding's history and `retkee backfill`.

Each extraction runs `ingest_window` (load/pipeline.py) on its own threads, each with its own warehouse
connection, so while one waits for Amazon (a report being made, a rate-limit bucket refilling) another
downloads, parses and loads: a report's processing overlaps the next request's wait. An extraction's
windows are shared among a few threads (runs of consecutive windows), so loading 548 days is not one
long chain behind the calls. The threads share the seller's
rate-limit buckets (extract/ratelimit.py), so together they never ask faster than Amazon's usage plans.
A failing extraction does not stop the others; its error is returned with its name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import psycopg

from orchestration.extract.catalogue import Extraction
from orchestration.extract.connection import SellerConnection
from orchestration.extract.planner import days_between, plan_windows, split_among
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


LOADERS_PER_EXTRACTION = 3  # threads (and warehouse connections) that load one extraction's windows


def _runs(extraction: Extraction, first_day: date, last_day: date, today: date, parts: int) -> list[tuple[date, date]]:
    """The range cut into at most `parts` sub-ranges on window boundaries: the same windows, several loaders."""
    days = days_between(first_day, last_day)
    windows = plan_windows([d for d in days if extraction.unreachable(d, today) is None], extraction.window)
    groups = split_among(windows, parts)
    if not groups:
        return [(first_day, last_day)]
    spans = [(group[0].first_day, group[-1].last_day) for group in groups]
    spans[0] = (first_day, spans[0][1])  # the days Amazon cannot serve go with the nearest run (skipped there)
    spans[-1] = (spans[-1][0], last_day)
    return [(spans[i][0], spans[i + 1][0] - timedelta(days=1)) for i in range(len(spans) - 1)] + [spans[-1]]


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
    loaders: int = LOADERS_PER_EXTRACTION,
) -> list[ExtractionRange]:
    """Every extraction's days first_day..last_day, side by side. An extraction's windows are shared among up
    to `loaders` threads, each loading a run of consecutive windows (the windows, and so the calls, are the
    planner's either way); `connect` opens a warehouse connection in the tenant's scope, one per thread (a
    psycopg connection is not shared between threads; `tenant_connections` makes one). Results in the order
    of `extractions`, each with its outcomes oldest day first."""
    chosen = list(extractions)
    today = today or datetime.now(UTC).date()
    work = [(extraction, span) for extraction in chosen
            for span in _runs(extraction, first_day, last_day, today, loaders)]

    def one(item: tuple[Extraction, tuple[date, date]]) -> tuple[list[PartitionOutcome], BaseException | None]:
        extraction, (first, last) = item
        try:
            with connect() as conn:
                return ingest_window(tenant=tenant, extraction=extraction, first_day=first, last_day=last,
                                     vault=vault, seller=seller, landing=landing, conn=conn, today=today), None
        except Exception as error:  # one extraction's failure is reported; the others go on
            log.warning("%s: %s %s..%s failed: %s", tenant.tenant_id, extraction.name, first, last, error)
            return [], error

    if not work:
        return []
    results = {e.name: ExtractionRange(e.name) for e in chosen}
    with ThreadPoolExecutor(max_workers=len(work), thread_name_prefix="backfill") as pool:
        for (extraction, _), (outcomes, error) in zip(work, pool.map(one, work), strict=True):
            result = results[extraction.name]
            result.outcomes += outcomes
            result.error = result.error or error
    return [results[e.name] for e in chosen]


def tenant_connections(settings: Settings, vault: Vault, tenant_id: str) -> Connect:
    """A factory of pipeline connections in the tenant's scope, one per `with`, for `ingest_extractions`."""

    @contextmanager
    def scoped() -> Iterator[psycopg.Connection]:
        with warehouse_connect(settings, vault) as conn, tenant_scope(conn, tenant_id):
            yield conn

    return scoped
