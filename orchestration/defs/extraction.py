"""Extraction assets: one software-defined asset per raw table, partitioned by tenant and UTC day, all made
by one step per tenant.

One multi-asset (`extract_tenant`) holds every raw table of orchestration/extract/catalogue.py's EXTRACTIONS. A run
covers one tenant and a range of its days (BackfillPolicy.single_run: a backfill is one run per tenant, not
one per day). Its step opens one session, fetches the selected tables' (extraction, window) pieces side by
side on a few threads (a window: the consecutive days one request may cover, extract/planner.py, so a
backfill asks Amazon with the fewest calls each window rule allows), validates each table and day as soon as
it is loaded (one great-expectations run for the tenant, on a thread of its own, while other pieces wait on
Amazon), and records a materialization and check results per table and day, so the UI still shows each
table's partitions, lineage and checks. It
can subset: the schedule and refresh select the daily tables, a lookback or today's snapshots. An extraction
that feeds two tables (sales and traffic: by date and by SKU) is fetched once for both.
"""

import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from queue import Empty, Queue

import polars as pl
import psycopg
from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetSpec,
    BackfillPolicy,
    Backoff,
    Failure,
    Jitter,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    multi_asset,
)
from dagster._utils.warnings import PreviewWarning
from psycopg import sql

from orchestration.compliance.labels import dataset_labels
from orchestration.defs.partitions import TENANT_DAYS
from orchestration.defs.resources import LandingZoneResource, VaultResource, WarehouseResource, run_session
from orchestration.extract.catalogue import EXTRACTIONS, Extraction
from orchestration.extract.errors import ReportFatal, SellerRevoked
from orchestration.extract.planner import Window, plan_windows
from orchestration.load.datasets import Dataset
from orchestration.load.pipeline import PartitionOutcome, ingest_window
from orchestration.quality.expectations import SuiteOutcome, validate_queries, validation_run
from orchestration.retain.caps import BeyondRetentionCap
from orchestration.secrets.vault import VaultError
from orchestration.warehouse.connection import connect
from orchestration.warehouse.grants import tenant_scope
from orchestration.warehouse.schemas import tenant_schema

# Failure metadata of a run stopped because its tenant is no longer active: the tenant's status. Whoever runs
# the tenant's other partitions (refresh) stops on it, reading this key, never the failure's text.
TENANT_STOPPED = "tenant_stopped"
# Amazon's FATAL and exhausted retries are tried again later by Dagster; revocation never is.
RETRY_LATER = RetryPolicy(max_retries=2, delay=60, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)


def suite_name(dataset: Dataset) -> str:
    return f"raw_{dataset.name}"


def check_name(dataset: Dataset) -> str:
    return f"{suite_name(dataset)}_expectations"


def asset_key(dataset: Dataset) -> AssetKey:
    return AssetKey(["raw", dataset.name])


def _spec(extraction: Extraction, dataset: Dataset) -> AssetSpec:
    labels, tags = dataset_labels(extraction, dataset)
    return AssetSpec(
        key=asset_key(dataset),
        group_name="extraction",
        kinds={"python", "postgres"},
        description=f"Raw {dataset.name}: {dataset.description}. From {extraction.source_api} "
        f"({dataset.report_type}); allowlisted columns only, one tenant and UTC day per partition, in the "
        "tenant's raw schema.",
        tags=tags,
        metadata={
            **labels,
            "backfill_rule": extraction.rule,
            "columns_kept": MetadataValue.json(dataset.column_names),
            "pii_columns_dropped_in_memory": MetadataValue.json(list(dataset.known_pii)),
        },
    )


def partition_query(conn: psycopg.Connection, tenant_id: str, dataset: Dataset, partition: str) -> str:
    """The loaded partition's allowlisted columns, as the suite sees them: dates become UTC midnights, so
    one "inside the partition" rule serves dates and timestamps."""
    columns = [
        sql.SQL("({}::timestamp at time zone 'UTC') as {}").format(sql.Identifier(c.name), sql.Identifier(c.name))
        if c.dtype == pl.Date else sql.Identifier(c.name)
        for c in dataset.columns
    ]
    return sql.SQL("select {} from {}.{} where _partition = {}").format(
        sql.SQL(", ").join(columns), sql.Identifier(tenant_schema(tenant_id, "raw")), sql.Identifier(dataset.name),
        sql.Literal(partition),
    ).as_string(conn)


def partition_parameters(day: date) -> dict:
    """The suites' "inside the partition" bounds: the UTC day."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    return {"partition_start": start, "partition_end": start + timedelta(days=1)}


def _validated(outcome: PartitionOutcome) -> bool:
    return outcome.load is not None and outcome.load.rows > 0


def quality_evaluation(dataset: Dataset, outcome: PartitionOutcome, verdict: SuiteOutcome | None,
                       partition: str | None = None) -> AssetCheckEvaluation:
    """The table's check from its suite's verdict (None: the partition loaded no row, so it passes unvalidated)."""
    metadata = ({"rows": 0, "skipped": outcome.skipped or "no"} if verdict is None else
                {"rows": outcome.load.rows, "expectations": verdict.evaluated,
                 "failed": ", ".join(verdict.failed) or "none"})
    return AssetCheckEvaluation(
        asset_key=asset_key(dataset), check_name=check_name(dataset), passed=verdict is None or verdict.success,
        severity=AssetCheckSeverity.ERROR, metadata=metadata, partition=partition,
    )


def quality_checks(day: date, loaded: list[tuple[Dataset, PartitionOutcome]], session,
                   partition: str | None = None) -> list[AssetCheckEvaluation]:
    """Each table's great-expectations suite over the partition as loaded, run inside PostgreSQL: one
    great-expectations run for all the partition's tables."""
    queries = {suite_name(d): partition_query(session.conn, o.tenant_id, d, o.partition)
               for d, o in loaded if _validated(o)}
    verdicts = validate_queries(queries, lambda: connect(session.settings, session.vault),
                                partition_parameters(day)) if queries else {}
    return [quality_evaluation(d, o, verdicts.get(suite_name(d)), partition) for d, o in loaded]


def quality_check(dataset: Dataset, day: date, outcome: PartitionOutcome, session) -> AssetCheckEvaluation:
    """One table's suite over its loaded partition (quality_checks for a single table)."""
    return quality_checks(day, [(dataset, outcome)], session)[0]


# Money lines the fee taxonomy does not map land as `unclassified` (load/flatten.py): counted per partition and
# shown as a WARN check, so a fee Amazon invented is seen in the UI while its money is already in the totals.
CLASSIFIED_CHECK = "money_lines_classified"


def _has_line_status(dataset: Dataset) -> bool:
    return "line_status" in dataset.column_names


def unclassified_lines(conn: psycopg.Connection, tenant_id: str, dataset: Dataset, partition: str) -> dict:
    """How many lines of the loaded partition are unclassified, their money, and their raw types."""
    table = sql.SQL("{}.{}").format(sql.Identifier(tenant_schema(tenant_id, "raw")), sql.Identifier(dataset.name))
    count, amount, types = conn.execute(
        sql.SQL(
            "select count(*), coalesce(sum(abs(amount)), 0),"
            " string_agg(distinct coalesce(transaction_type, '?') || ': ' || breakdown_path, ', ')"
            " from {} where _partition = %s and line_status = 'unclassified'"
        ).format(table),
        (partition,),
    ).fetchone()
    return {"unclassified_lines": int(count), "unclassified_amount": float(amount),
            "unclassified_types": (types or "none")[:2000]}


NOTHING_LOADED = {"unclassified_lines": 0, "unclassified_amount": 0.0, "unclassified_types": "none (nothing loaded)"}


def classified_check(dataset: Dataset, counts: dict, partition: str | None = None) -> AssetCheckEvaluation:
    return AssetCheckEvaluation(
        asset_key=asset_key(dataset), check_name=CLASSIFIED_CHECK, passed=counts["unclassified_lines"] == 0,
        severity=AssetCheckSeverity.WARN, metadata=counts, partition=partition,
    )


# -- one step per tenant -------------------------------------------------------------------------------------

# How many of a tenant's (extraction, window) pieces are fetched at once. Most of an extraction is waiting on
# Amazon (a report is processed for seconds to minutes), so a few threads overlap those waits; Amazon's
# per-seller rate limits (extract/ratelimit.py, shared by the threads) still set the pace of the calls.
EXTRACTION_THREADS = 6


@dataclass
class _Piece:
    """One extraction over a window of consecutive days, and what came of it: outcomes and classification
    counts by day (each day is still loaded, checked and materialized as its own partition)."""

    extraction: Extraction
    window: Window
    outcomes: dict[date, list[PartitionOutcome]] | None = None
    classification: dict[tuple[str, date], dict] = field(default_factory=dict)
    error: BaseException | None = None

    def tables(self, day: date) -> list[tuple[Dataset, PartitionOutcome]]:
        """The day's datasets and outcomes (none if the piece did not load)."""
        if self.outcomes is None or day not in self.outcomes:
            return []
        return list(zip(self.extraction.datasets, self.outcomes[day], strict=True))


def _pieces(extractions: list[Extraction], days: list[date], today: date) -> list[_Piece]:
    """Each extraction's selected days as the fewest windows its rule allows (a snapshot's rule is one day).
    A day Amazon cannot serve is a piece of its own (no call is made for it; its outcomes say why), so it
    never cuts a window the planner would otherwise make in two inside ingest_window."""
    pieces = []
    for extraction in extractions:
        reachable = [d for d in days if extraction.unreachable(d, today) is None]
        windows = plan_windows(reachable, extraction.window) + [Window(d, d) for d in days if d not in reachable]
        pieces += [_Piece(extraction, w) for w in sorted(windows, key=lambda w: w.first_day)]
    return pieces


def _extract_pieces(pieces: list[_Piece], tenant, session, on_loaded: Callable[[_Piece], None]) -> None:
    """Run the pieces on EXTRACTION_THREADS threads, each with a warehouse connection of its own working as the
    tenant's owner role (its schemas belong to the tenant, no other is reachable). Each loaded piece is handed
    to `on_loaded`. A revocation stops the pieces not yet started; every other error stays with its piece."""
    queue: Queue[_Piece] = Queue()
    for piece in pieces:
        queue.put(piece)
    stop = threading.Event()
    seller = session.seller_connection(tenant)
    unreachable: list[BaseException] = []  # a thread that could not open its connection

    def work() -> None:
        try:
            conn = connect(session.settings, session.vault)
        except Exception as exc:  # noqa: BLE001 - the pieces it would have run say why below
            unreachable.append(exc)
            return
        with conn, tenant_scope(conn, tenant.tenant_id):
            while not stop.is_set():
                try:
                    piece = queue.get_nowait()
                except Empty:
                    return
                try:
                    outcomes = ingest_window(
                        tenant=tenant, extraction=piece.extraction, first_day=piece.window.first_day,
                        last_day=piece.window.last_day, vault=session.vault, seller=seller,
                        landing=session.landing, conn=conn,
                    )
                    width = len(piece.extraction.datasets)  # one outcome per dataset per day, oldest day first
                    by_day = {day: outcomes[n * width:(n + 1) * width] for n, day in enumerate(piece.window.days)}
                    piece.classification = {
                        (d.name, day): unclassified_lines(conn, tenant.tenant_id, d, o.partition)
                        for day, day_outcomes in by_day.items()
                        for d, o in zip(piece.extraction.datasets, day_outcomes, strict=True)
                        if _has_line_status(d) and o.load is not None
                    }
                    piece.outcomes = by_day
                    conn.commit()
                    on_loaded(piece)
                except SellerRevoked as exc:
                    piece.error = exc
                    stop.set()
                except Exception as exc:  # noqa: BLE001 - kept with its piece; the step says what failed
                    conn.rollback()
                    piece.error = exc

    threads = [threading.Thread(target=work, name=f"extract-{n}", daemon=True)
               for n in range(min(EXTRACTION_THREADS, len(pieces)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for piece in pieces:
        if piece.outcomes is None and piece.error is None and not stop.is_set():
            piece.error = unreachable[0] if unreachable else RuntimeError("no extraction thread ran it")


class _Quality:
    """Validates each piece's selected tables, day by day, as soon as they are loaded, on a thread of its own, in one
    great-expectations run for the tenant (one data source, one connection): the suites run while the other
    pieces wait on Amazon, instead of after them. Verdicts by (table, day)."""

    def __init__(self, session, selected) -> None:
        self._session, self._selected = session, selected
        self._queue: Queue[_Piece | None] = Queue()
        self.verdicts: dict[tuple[str, date], SuiteOutcome] = {}
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="quality", daemon=True)
        self._thread.start()

    def add(self, piece: _Piece) -> None:
        self._queue.put(piece)

    def finish(self) -> dict[tuple[str, date], SuiteOutcome]:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self.verdicts

    def _tables(self, piece: _Piece):
        return [(day, d, o) for day in piece.window.days for d, o in piece.tables(day)
                if asset_key(d) in self._selected and _validated(o)]

    def _work(self) -> None:
        session = self._session
        try:
            piece = self._queue.get()
            while piece is not None and not self._tables(piece):
                piece = self._queue.get()
            if piece is None:
                return  # nothing loaded a row: no great-expectations run at all
            with validation_run(lambda: connect(session.settings, session.vault)) as run:
                while piece is not None:
                    for day, dataset, outcome in self._tables(piece):
                        query = partition_query(session.conn, outcome.tenant_id, dataset, outcome.partition)
                        self.verdicts[(dataset.name, day)] = run.validate(
                            suite_name(dataset), query, partition_parameters(day))
                    piece = self._queue.get()
        except Exception as exc:  # noqa: BLE001 - raised again by finish(), in the step's own thread
            self._error = exc


def _failure(tenant_id: str, failed: list[_Piece]) -> BaseException:
    """The tenant's failure, from its failed pieces, worst first: a stopped tenant and an unreachable Vault are
    not retried; beyond the retention cap is refused for good; Amazon's FATAL is tried again later; anything
    else (a bug) is raised as it is."""
    errors = [p.error for p in failed]
    revoked = next((e for e in errors if isinstance(e, SellerRevoked)), None)
    if revoked is not None:
        return Failure(description=f"tenant {tenant_id} revoked our authorization; marked revoked, run stopped",
                       allow_retries=False, metadata={TENANT_STOPPED: "revoked"})
    vault = next((e for e in errors if isinstance(e, VaultError)), None)
    if vault is not None:
        # A sealed or unreachable Vault needs an operator: say so and stop, rather than retry the step for
        # minutes (RETRY_LATER) while nothing can succeed.
        return Failure(description=f"Vault cannot serve this run ({vault}); unseal or reach it, then re-run",
                       allow_retries=False, metadata={"vault": str(vault)})
    cap = next((e for e in errors if isinstance(e, BeyondRetentionCap)), None)
    if cap is not None:
        return Failure(description=str(cap), allow_retries=False,
                       metadata={"oldest_day_kept": cap.oldest_day_kept.isoformat(), "cap_months": cap.months})
    fatal = [p for p in failed if isinstance(p.error, ReportFatal)]
    if len(fatal) == len(failed):
        first = fatal[0]
        return Failure(
            description=f"tenant {tenant_id} {first.extraction.name} {first.window}: Amazon could not produce the "
            f"report ({first.error}); retried later" + (f" (and {len(fatal) - 1} more)" if len(fatal) > 1 else ""),
            metadata={"fatal_reason": str(first.error), "failed": ", ".join(
                f"{p.extraction.name} {p.window}" for p in fatal)},
        )
    return next(p.error for p in failed if not isinstance(p.error, ReportFatal))


def _selected(context: AssetExecutionContext) -> list[Extraction]:
    """The extractions a selected table comes from. Sales and traffic's two tables come from one report, so
    selecting one reloads both (from the same document); only the selected one is materialized."""
    keys = context.selected_asset_keys
    return [e for e in EXTRACTIONS.values() if any(asset_key(d) in keys for d in e.datasets)]


def _tenants_and_days(context: AssetExecutionContext) -> dict[str, dict[date, str]]:
    """The run's tenants, each with its days and their partition keys as the run knows them. Refresh and the
    schedule run one tenant at a time; a backfill from the UI over several tenants and one day is cut by
    Dagster into one range per day, holding every tenant: those are taken one after another."""
    by_tenant: dict[str, dict[date, str]] = {}
    for key in context.partition_keys:
        dimensions = TENANT_DAYS.get_partition_key_from_str(key).keys_by_dimension
        by_tenant.setdefault(dimensions["tenant"], {})[date.fromisoformat(dimensions["day"])] = key
    return {tenant: dict(sorted(days.items())) for tenant, days in sorted(by_tenant.items())}


def extract_tenant_days(context: AssetExecutionContext, warehouse: WarehouseResource, pipeline_vault: VaultResource,
                        landing_zone: LandingZoneResource):
    """The step: each tenant's pieces, their checks per day, then the materializations; a failed tenant fails
    the step once every tenant has been tried."""
    done: dict = {}  # asset key -> {partition key: metadata}
    failures: list[BaseException] = []
    with run_session(warehouse, pipeline_vault, landing_zone) as session:
        for tenant_id, days in _tenants_and_days(context).items():
            failure = yield from _extract_tenant(context, session, tenant_id, days, done)
            if failure is not None:
                failures.append(failure)
    yield from _materializations(context, done)
    if len(failures) == 1 or any(not isinstance(f, Failure) for f in failures):
        raise next((f for f in failures if not isinstance(f, Failure)), failures[0])
    if failures:
        raise Failure(description="; ".join(f.description or "failed" for f in failures),
                      allow_retries=all(f.allow_retries for f in failures),
                      metadata={k: v for f in failures for k, v in (f.metadata or {}).items()})


def _extract_tenant(context: AssetExecutionContext, session, tenant_id: str, days: dict[date, str], done: dict):
    """One tenant's pieces, side by side; yields each day's checks, fills `done`, returns the tenant's failure."""
    tenant = session.registry.get(tenant_id)
    if tenant.status != "active":
        return Failure(description=f"tenant {tenant_id} is {tenant.status}; nothing is extracted for it",
                       allow_retries=False, metadata={TENANT_STOPPED: tenant.status})
    session.conn.commit()
    pieces = _pieces(_selected(context), list(days), datetime.now(UTC).date())
    quality = _Quality(session, context.selected_asset_keys)
    try:
        _extract_pieces(pieces, tenant, session, quality.add)
    finally:
        verdicts = quality.finish()
    revoked = next((p.error for p in pieces if isinstance(p.error, SellerRevoked)), None)
    if revoked is not None:
        session.registry.set_status(tenant_id, "revoked", str(revoked))
        session.conn.commit()
    yield from _checks(context, tenant_id, days, pieces, verdicts, done)
    failed = [p for p in pieces if p.error is not None]
    return _failure(tenant_id, failed) if failed else None


def _checks(context: AssetExecutionContext, tenant_id: str, days: dict[date, str], pieces: list[_Piece],
            verdicts: dict[tuple[str, date], SuiteOutcome], done: dict):
    """Per partition: the checks of its tables, from their suites' verdicts; what loaded goes into `done`."""
    selected = context.selected_asset_keys
    for day, partition in days.items():
        loaded = [(d, o, p) for p in pieces for d, o in p.tables(day) if asset_key(d) in selected]
        for dataset, outcome, _ in loaded:
            if outcome.skipped:
                context.log.info(f"{dataset.name} {tenant_id} {day}: left as it is ({outcome.skipped})")
        for dataset, outcome, _ in loaded:
            yield quality_evaluation(dataset, outcome, verdicts.get((dataset.name, day)), partition)
        for dataset, outcome, piece in loaded:
            counts = piece.classification.get((dataset.name, day))
            if _has_line_status(dataset):
                yield classified_check(dataset, counts or NOTHING_LOADED, partition)
            done.setdefault(asset_key(dataset), {})[partition] = {
                **outcome.metadata(), "data_classification": str(dataset.classification), **(counts or {})}


def _materializations(context: AssetExecutionContext, done: dict):
    """One materialization per table and partition. A table whose every partition of the run loaded is one
    MaterializeResult (Dagster records it for each partition, with that partition's metadata); a table with a
    failed partition is recorded only for the partitions it loaded."""
    partitions = len(context.partition_keys)
    for key in sorted(context.selected_asset_keys, key=lambda k: k.to_user_string()):
        by_partition = done.get(key, {})
        if len(by_partition) == partitions:
            for partition, metadata in by_partition.items():
                context.add_asset_metadata(metadata, asset_key=key, partition_key=partition)
            yield MaterializeResult(asset_key=key)
        else:
            for partition, metadata in by_partition.items():
                yield AssetMaterialization(asset_key=key, partition=partition, metadata=metadata)


def build_extraction_asset():
    """Every raw table as one multi-asset: one step per tenant and range of days."""
    extractions = list(EXTRACTIONS.values())
    specs = [_spec(e, d) for e in extractions for d in e.datasets]
    # Checks are partitioned like their tables, so the UI shows each day's verdict (a run covers many days).
    # Dagster 1.13 calls partitioned checks a preview; the warning would be printed by every process.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)
        checks = [
            AssetCheckSpec(name=check_name(d), asset=asset_key(d), description="great-expectations suite",
                           partitions_def=TENANT_DAYS)
            for e in extractions for d in e.datasets
        ] + [
            AssetCheckSpec(name=CLASSIFIED_CHECK, asset=asset_key(d), partitions_def=TENANT_DAYS,
                           description="every money line is mapped by the fee taxonomy (dbt_project/seeds)")
            for e in extractions for d in e.datasets if _has_line_status(d)
        ]

    @multi_asset(
        name="extract_tenant",
        specs=specs,
        check_specs=checks,
        partitions_def=TENANT_DAYS,
        can_subset=True,  # the schedule asks for daily tables, lookbacks or today's snapshots
        backfill_policy=BackfillPolicy.single_run(),  # a backfill is one run per tenant, over its days
        retry_policy=RETRY_LATER,
    )
    def extraction_asset(context: AssetExecutionContext, warehouse: WarehouseResource, pipeline_vault: VaultResource,
                         landing_zone: LandingZoneResource):
        try:
            yield from extract_tenant_days(context, warehouse, pipeline_vault, landing_zone)
        except VaultError as exc:  # opening the session, before any piece ran
            raise Failure(description=f"Vault cannot serve this run ({exc}); unseal or reach it, then re-run",
                          allow_retries=False, metadata={"vault": str(exc)}) from None

    return extraction_asset


EXTRACTION_ASSET = build_extraction_asset()
EXTRACTION_ASSETS = [EXTRACTION_ASSET]
# The tables taken only of the present day, and the ones taken for past days.
SNAPSHOT_KEYS = [asset_key(d) for e in EXTRACTIONS.values() if e.snapshot for d in e.datasets]
DAILY_KEYS = [asset_key(d) for e in EXTRACTIONS.values() if not e.snapshot for d in e.datasets]


def extraction_checks(keys) -> list[AssetCheckKey]:
    """The extraction's own checks (quality, classification) on the tables `keys` names: a run of those tables
    checks these and no other check defined on them (the retention caps' run daily, on their own)."""
    wanted = set(keys)
    return sorted((k for k in EXTRACTION_ASSET.check_keys if k.asset_key in wanted), key=lambda k: k.to_user_string())


# The name older code and the docs use for the extraction assets.
REPORT_ASSETS = EXTRACTION_ASSETS


