"""Extraction assets: one software-defined asset per SP-API dataset, partitioned by tenant and day."""

from datetime import UTC, date, datetime, timedelta

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from orchestration.defs.partitions import TENANT_DAYS
from orchestration.defs.resources import Platform
from orchestration.extract.errors import SellerRevoked
from orchestration.ingest import ingest_report_partition
from orchestration.load.datasets import DATASETS, Dataset
from orchestration.quality.expectations import validate_frame

RETENTION_RULE = "kept while the subscription is active; erased within 30 days of revocation or termination"


def suite_name(dataset: Dataset) -> str:
    return f"raw_{dataset.name}"


def build_report_asset(dataset: Dataset):
    key = AssetKey(["raw", dataset.name])
    check_name = f"{suite_name(dataset)}_expectations"

    @asset(
        key=key,
        partitions_def=TENANT_DAYS,
        group_name="extraction",
        kinds={"python", "postgres"},
        description=f"Raw {dataset.name} from the {dataset.report_type} report: allowlisted columns only, "
        "one tenant and UTC day per partition, in the tenant's raw schema.",
        tags={"retkee/classification": dataset.classification, "retkee/pii": "pii-free"},
        metadata={
            "source_api": "Reports API 2021-06-30",
            "report_type": dataset.report_type,
            "data_classification": dataset.classification,
            "retention": RETENTION_RULE,
            "owner": "data-engineering",
            "columns_kept": MetadataValue.json([c.name for c in dataset.columns]),
            "pii_columns_dropped_in_memory": MetadataValue.json(list(dataset.known_pii)),
        },
        check_specs=[AssetCheckSpec(name=check_name, asset=key, description="great-expectations suite")],
    )
    def report_asset(context: AssetExecutionContext, platform: Platform):
        keys = context.partition_key.keys_by_dimension
        tenant_id, day = keys["tenant"], date.fromisoformat(keys["day"])
        with platform.session() as session:
            tenant = session.registry.get(tenant_id)
            if tenant.status != "active":
                raise Failure(
                    description=f"tenant {tenant_id} is {tenant.status}; nothing is extracted for it",
                    allow_retries=False,
                )
            try:
                outcome = ingest_report_partition(
                    tenant=tenant,
                    dataset=dataset,
                    day=day,
                    vault=session.vault,
                    seller=session.seller_connection(tenant),
                    landing=session.landing,
                    conn=session.conn,
                )
            except SellerRevoked as exc:
                session.registry.set_status(tenant_id, "revoked", str(exc))
                raise Failure(
                    description=f"tenant {tenant_id} revoked our authorization; marked revoked, run stopped",
                    allow_retries=False,
                ) from None
        start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        frame = outcome.rows_frame
        yield MaterializeResult(metadata={**outcome.metadata(), "data_classification": dataset.classification})
        if frame is None or frame.height == 0:
            yield AssetCheckResult(check_name=check_name, passed=True, metadata={"rows": 0})
            return
        verdict = validate_frame(
            suite_name(dataset), frame, {"partition_start": start, "partition_end": start + timedelta(days=1)}
        )
        yield AssetCheckResult(
            check_name=check_name,
            passed=verdict.success,
            severity=AssetCheckSeverity.ERROR,
            metadata={"expectations": verdict.evaluated, "failed": ", ".join(verdict.failed) or "none"},
        )

    return report_asset


REPORT_ASSETS = [build_report_asset(d) for d in DATASETS.values()]
