"""Extraction assets: one software-defined asset per raw table, partitioned by tenant and UTC day.

One factory builds them all from orchestration/extract/catalogue.py's EXTRACTIONS: an extraction that feeds two
tables (sales and traffic: by date and by SKU) is one multi-asset, so Amazon is asked once. Each table
carries its great-expectations suite as an asset check and its lineage metadata.
"""

from datetime import UTC, date, datetime, timedelta

import polars as pl
import psycopg
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Backoff,
    Failure,
    Jitter,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    multi_asset,
)
from psycopg import sql

from orchestration.compliance.labels import dataset_labels
from orchestration.defs.partitions import TENANT_DAYS
from orchestration.defs.resources import Platform
from orchestration.extract.catalogue import EXTRACTIONS, Extraction
from orchestration.extract.errors import ReportFatal, SellerRevoked
from orchestration.load.datasets import Dataset
from orchestration.load.pipeline import PartitionOutcome, ingest_partition
from orchestration.quality.expectations import validate_query
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


def quality_check(dataset: Dataset, day: date, outcome: PartitionOutcome, session) -> AssetCheckResult:
    """The dataset's great-expectations suite over the partition as loaded, run inside PostgreSQL."""
    if outcome.load is None or outcome.load.rows == 0:
        return AssetCheckResult(
            asset_key=asset_key(dataset), check_name=check_name(dataset), passed=True,
            metadata={"rows": 0, "skipped": outcome.skipped or "no"},
        )
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    verdict = validate_query(
        suite_name(dataset),
        lambda: connect(session.settings, session.vault),
        partition_query(session.conn, outcome.tenant_id, dataset, outcome.partition),
        {"partition_start": start, "partition_end": start + timedelta(days=1)},
    )
    return AssetCheckResult(
        asset_key=asset_key(dataset),
        check_name=check_name(dataset),
        passed=verdict.success,
        severity=AssetCheckSeverity.ERROR,
        metadata={"rows": outcome.load.rows, "expectations": verdict.evaluated,
                  "failed": ", ".join(verdict.failed) or "none"},
    )


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


def classified_check(dataset: Dataset, counts: dict) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=asset_key(dataset), check_name=CLASSIFIED_CHECK, passed=counts["unclassified_lines"] == 0,
        severity=AssetCheckSeverity.WARN, metadata=counts,
    )


def build_extraction_asset(extraction: Extraction):
    specs = [_spec(extraction, d) for d in extraction.datasets]
    checks = [
        AssetCheckSpec(name=check_name(d), asset=asset_key(d), description="great-expectations suite")
        for d in extraction.datasets
    ] + [
        AssetCheckSpec(name=CLASSIFIED_CHECK, asset=asset_key(d),
                       description="every money line is mapped by the fee taxonomy (dbt_project/seeds)")
        for d in extraction.datasets if _has_line_status(d)
    ]

    def extract(context: AssetExecutionContext, platform: Platform):
        keys = context.partition_key.keys_by_dimension
        tenant_id, day = keys["tenant"], date.fromisoformat(keys["day"])
        with platform.session() as session:
            tenant = session.registry.get(tenant_id)
            if tenant.status != "active":
                raise Failure(
                    description=f"tenant {tenant_id} is {tenant.status}; nothing is extracted for it",
                    allow_retries=False, metadata={TENANT_STOPPED: tenant.status},
                )
            # The load runs as the tenant's owner role: its schemas belong to the tenant, no other is reachable.
            session.conn.commit()
            try:
                with tenant_scope(session.conn, tenant_id):
                    outcomes = ingest_partition(
                        tenant=tenant,
                        extraction=extraction,
                        day=day,
                        vault=session.vault,
                        seller=session.seller_connection(tenant),
                        landing=session.landing,
                        conn=session.conn,
                    )
                    classification = {
                        d.name: unclassified_lines(session.conn, tenant_id, d, o.partition)
                        for d, o in zip(extraction.datasets, outcomes, strict=True)
                        if _has_line_status(d) and o.load is not None
                    }
            except SellerRevoked as exc:
                session.registry.set_status(tenant_id, "revoked", str(exc))
                raise Failure(
                    description=f"tenant {tenant_id} revoked our authorization; marked revoked, run stopped",
                    allow_retries=False, metadata={TENANT_STOPPED: "revoked"},
                ) from None
            except BeyondRetentionCap as exc:
                raise Failure(
                    description=str(exc), allow_retries=False,
                    metadata={"oldest_day_kept": exc.oldest_day_kept.isoformat(), "cap_months": exc.months},
                ) from None
            except ReportFatal as exc:
                raise Failure(
                    description=f"tenant {tenant_id} {extraction.name} {day}: Amazon could not produce the "
                    f"report ({exc}); retried later",
                    metadata={"fatal_reason": str(exc)},
                ) from None
            for dataset, outcome in zip(extraction.datasets, outcomes, strict=True):
                if outcome.skipped:
                    context.log.info(f"{dataset.name} {tenant_id} {day}: left as it is ({outcome.skipped})")
                counts = classification.get(dataset.name)
                yield MaterializeResult(
                    asset_key=asset_key(dataset),
                    metadata={**outcome.metadata(), "data_classification": str(dataset.classification),
                              **(counts or {})},
                )
                yield quality_check(dataset, day, outcome, session)
                if _has_line_status(dataset):
                    yield classified_check(dataset, counts or {"unclassified_lines": 0, "unclassified_amount": 0.0,
                                                               "unclassified_types": "none (nothing loaded)"})

    @multi_asset(
        name=f"extract_{extraction.name}",
        specs=specs,
        check_specs=checks,
        partitions_def=TENANT_DAYS,
        retry_policy=RETRY_LATER,
    )
    def extraction_asset(context: AssetExecutionContext, platform: Platform):
        try:
            yield from extract(context, platform)
        except VaultError as exc:
            # A sealed or unreachable Vault needs an operator: say so and stop, rather than retry every step of
            # the run for minutes (RETRY_LATER) while nothing can succeed.
            raise Failure(description=f"Vault cannot serve this run ({exc}); unseal or reach it, then re-run",
                          allow_retries=False, metadata={"vault": str(exc)}) from None

    return extraction_asset


EXTRACTION_ASSETS = [build_extraction_asset(e) for e in EXTRACTIONS.values()]
SNAPSHOT_ASSETS = [a for a, e in zip(EXTRACTION_ASSETS, EXTRACTIONS.values(), strict=True) if e.snapshot]
DAILY_ASSETS = [a for a, e in zip(EXTRACTION_ASSETS, EXTRACTIONS.values(), strict=True) if not e.snapshot]
# The name older code and the docs use for the extraction assets.
REPORT_ASSETS = EXTRACTION_ASSETS
