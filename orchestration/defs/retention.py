"""Retention in Dagster: the sensor that launches erasures, the erasure job, key rotation, deadline checks,
and the daily retention caps (age-based removal, log pruning, the check that nothing is older than its cap).

The sensor runs under the daemon (on by default): every minute it lists revoked and terminated tenants and
launches `erase_tenant` for each whose grace period is over (a seller's own request has none). A failed
attempt is launched again on a later tick, up to MAX_ATTEMPTS; the `erasure_deadlines` asset check and the
sensor's log report any tenant near or past its 30-day deadline. The work itself is in orchestration/retain/.
"""

from collections.abc import Mapping
from datetime import UTC, date, datetime

import psycopg
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    AssetMaterialization,
    AssetObservation,
    AssetSelection,
    AssetSpec,
    Backoff,
    Config,
    DagsterInstance,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    Failure,
    MultiPartitionKey,
    OpExecutionContext,
    RetryPolicy,
    RunRequest,
    RunsFilter,
    ScheduleDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset_check,
    define_asset_job,
    job,
    multi_asset_check,
    op,
    sensor,
)

from orchestration.compliance.access_log import TENANT_RUN_TAGS
from orchestration.compliance.labels import PLATFORM_ASSETS
from orchestration.defs.extraction import asset_key as raw_asset_key
from orchestration.defs.marts import manifest_json, tenant_models
from orchestration.defs.partitions import TENANTS
from orchestration.defs.resources import LandingZoneResource, VaultResource, WarehouseResource, run_session
from orchestration.extract.catalogue import EXTRACTIONS
from orchestration.load.datasets import DATASETS
from orchestration.retain.age import RemovalTools, RetentionError, oldest_day_held, remove_expired
from orchestration.retain.caps import age_caps
from orchestration.retain.certificate import requested_tenants
from orchestration.retain.erasure import ErasureError, ErasureTools, erase_tenant
from orchestration.retain.pii import PII_TABLES, purge_expired_pii
from orchestration.retain.policy import (
    ERASABLE_STATUSES,
    deadline_status,
    erasure_clock_start,
    grace_from_env,
    is_due,
    log_retention_months,
)
from orchestration.retain.rotation import rotate_tenant_key
from orchestration.tenants.registry import TenantRegistry
from orchestration.transform.manifest import upstream_raw_tables
from orchestration.warehouse.schemas import check_tenant_id

ERASURE_TAG = "retkee/erasure-of"  # value: the pseudonymous tenant id, never a seller id
MAX_ATTEMPTS = 5
IN_FLIGHT = [
    DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING,
]

ERASURE_CERTIFICATES = AssetSpec(
    key=AssetKey(["audit", "erasure_certificates"]),
    description="One certificate per erased tenant: what was destroyed and how it was verified "
    "(audit.erasure_certificates; see docs/retention.md). Pseudonymous tenant ids only, no seller data.",
    group_name="retention",
    kinds={"postgres"},
    metadata=PLATFORM_ASSETS["audit/erasure_certificates"],
)


class DagsterRunControl:
    """RunControl (orchestration/retain/erasure.py) on a Dagster instance."""

    def __init__(self, instance: DagsterInstance) -> None:
        self._instance = instance

    def in_flight_runs(self, tenant_id: str) -> list[str]:
        found: set[str] = set()
        for tag in TENANT_RUN_TAGS:
            records = self._instance.get_run_records(RunsFilter(statuses=IN_FLIGHT, tags={tag: tenant_id}))
            found.update(record.dagster_run.run_id for record in records)
        return sorted(found)

    def cancel_run(self, run_id: str) -> None:
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return
        try:
            self._instance.run_coordinator.cancel_run(run_id)
        except Exception:  # noqa: BLE001, S110 - a run in another process that cannot be signalled is waited out
            pass

    def has_tenant_partition(self, tenant_id: str) -> bool:
        return self._instance.has_dynamic_partition(TENANTS.name, tenant_id)

    def remove_tenant_partition(self, tenant_id: str) -> None:
        self._instance.delete_dynamic_partition(TENANTS.name, tenant_id)


class EraseTenantConfig(Config):
    tenant_id: str


@op(name="erase_tenant_data", out={}, description="Cryptographic erasure of one tenant (retain/erasure.py)")
def erase_tenant_data(context: OpExecutionContext, config: EraseTenantConfig, warehouse: WarehouseResource,
                      pipeline_vault: VaultResource, erasure_vault: VaultResource, key_release_vault: VaultResource,
                      landing_zone: LandingZoneResource):
    tenant_id = check_tenant_id(config.tenant_id)
    with run_session(warehouse, pipeline_vault, landing_zone) as session:
        tools = ErasureTools(
            conn=session.conn,
            pipeline_vault=session.vault,
            erasure_vault=erasure_vault.login(),
            key_release_vault=key_release_vault.login(),
            landing=session.landing,
            runs=DagsterRunControl(context.instance),
            run_id=context.run_id,
            log=context.log.info,
        )
        try:
            certificate = erase_tenant(tools, tenant_id)
        except ErasureError as exc:
            raise Failure(description=str(exc)) from None
    destroyed = certificate.destroyed
    yield AssetMaterialization(
        asset_key=ERASURE_CERTIFICATES.key,
        description=f"erasure certificate of tenant {tenant_id}",
        metadata={
            "tenant_id": tenant_id,
            "schemas_dropped": len(destroyed["schemas"]),
            "tables_dropped": destroyed["tables"],
            "landing_objects_deleted": destroyed["landing_objects"],
            "transit_key": destroyed["transit_key"]["name"],
            "transit_key_versions": ", ".join(str(v) for v in destroyed["transit_key"]["versions"]) or "none",
            "verified": certificate.verified,
            "completed_by_run": certificate.run_id,
        },
    )


@job(
    name="erase_tenant",
    description="Erase one revoked or terminated tenant and write its certificate; safe to re-run.",
    tags={"retkee/duty": "erasure"},
)
def erasure_job():
    erase_tenant_data()


def erasure_run_config(tenant_id: str) -> dict:
    return {"ops": {"erase_tenant_data": {"config": {"tenant_id": check_tenant_id(tenant_id)}}}}


@op(name="purge_expired_pii_rows", description="Delete PII 30 days after delivery (orchestration/retain/pii.py)")
def purge_expired_pii_op(context: OpExecutionContext, warehouse: WarehouseResource, pipeline_vault: VaultResource):
    now = datetime.now(UTC)
    with warehouse.connect(pipeline_vault.login()) as conn:
        for tenant in TenantRegistry(conn).list("active"):
            deleted = purge_expired_pii(conn, tenant.tenant_id, now)
            if deleted:
                context.log.info(f"tenant {tenant.tenant_id}: purged {deleted}")


@job(name="purge_expired_pii", description="Purge PII held past 30 days after delivery, for every tenant.")
def pii_purge_job():
    purge_expired_pii_op()


@sensor(
    name="retention_sensor",
    jobs=[erasure_job, pii_purge_job],
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Launches the erasure of each revoked or terminated tenant once its grace period is over "
    "(at once when the seller asked), and the daily PII purge.",
)
def retention_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource, pipeline_vault: VaultResource):
    now = datetime.now(UTC)
    grace = grace_from_env()
    with warehouse.connect(pipeline_vault.login()) as conn:
        registry = TenantRegistry(conn)
        tenants = [t for status in ERASABLE_STATUSES for t in registry.list(status)]
        on_request = requested_tenants(conn)
    requests: list[RunRequest] = []
    waiting: list[str] = []
    for tenant in tenants:
        requested_at = erasure_clock_start(tenant.erasure_requested_at, tenant.status_changed_at)
        deadline = deadline_status(tenant.tenant_id, requested_at, now)
        if deadline.reportable:
            context.log.warning(f"tenant {tenant.tenant_id} erasure deadline {deadline.deadline.isoformat()} is "
                                f"{deadline.state}")
        if not is_due(tenant.status, requested_at, now, grace,
                      on_request=tenant.tenant_id in on_request):
            waiting.append(tenant.tenant_id)
            continue
        runs = context.instance.get_run_records(RunsFilter(tags={ERASURE_TAG: tenant.tenant_id}))
        if any(r.dagster_run.status in IN_FLIGHT for r in runs):
            continue
        attempts = len(runs)
        if attempts >= MAX_ATTEMPTS:
            context.log.error(f"tenant {tenant.tenant_id}: {attempts} erasure attempts failed; an operator must "
                              "look (retkee tenants erase re-runs it)")
            continue
        requests.append(RunRequest(
            run_key=f"erase:{tenant.tenant_id}:attempt-{attempts + 1}",
            job_name=erasure_job.name,
            run_config=erasure_run_config(tenant.tenant_id),
            tags={ERASURE_TAG: tenant.tenant_id},
        ))
    if PII_TABLES:
        requests.append(RunRequest(run_key=f"pii-purge:{now.date().isoformat()}", job_name=pii_purge_job.name))
    if not requests:
        return SkipReason(f"nothing due; {len(waiting)} tenant(s) in their grace period")
    return SensorResult(run_requests=requests)


@asset_check(
    asset=ERASURE_CERTIFICATES.key,
    name="erasure_deadlines",
    description="Fails when a revoked or terminated tenant is not erased within 3 days of its 30-day deadline "
    "(WARN) or past it (ERROR).",
)
def erasure_deadlines(warehouse: WarehouseResource, pipeline_vault: VaultResource) -> AssetCheckResult:
    with warehouse.connect(pipeline_vault.login()) as conn:
        registry = TenantRegistry(conn)
        tenants = [t for status in ERASABLE_STATUSES for t in registry.list(status)]
    return deadlines_result(tenants, datetime.now(UTC))


def deadlines_result(tenants: list, now: datetime) -> AssetCheckResult:
    """The deadline check's verdict over the revoked and terminated tenants (retain/policy.py's one deadline)."""
    statuses = [deadline_status(t.tenant_id, erasure_clock_start(t.erasure_requested_at, t.status_changed_at), now)
                for t in tenants]
    near = sorted(s.tenant_id for s in statuses if s.state == "near")
    missed = sorted(s.tenant_id for s in statuses if s.state == "missed")
    return AssetCheckResult(
        passed=not near and not missed,
        severity=AssetCheckSeverity.ERROR if missed else AssetCheckSeverity.WARN,
        metadata={
            "awaiting_erasure": len(statuses),
            "deadline_near": ", ".join(near) or "none",
            "deadline_missed": ", ".join(missed) or "none",
        },
    )


deadline_check_job = define_asset_job(
    "check_erasure_deadlines", selection=AssetSelection.checks(erasure_deadlines),
    description="Report tenants whose erasure deadline is near or missed.",
)
deadline_check_schedule = ScheduleDefinition(
    name="erasure_deadlines_hourly", job=deadline_check_job, cron_schedule="17 * * * *",
    execution_timezone="UTC", default_status=DefaultScheduleStatus.RUNNING,
)


@op(name="rotate_active_tenant_keys", description="Rotate every active tenant's key and rewrap its stored data keys")
def rotate_tenant_keys_op(context: OpExecutionContext, warehouse: WarehouseResource, pipeline_vault: VaultResource,
                          rotation_vault: VaultResource, landing_zone: LandingZoneResource):
    with run_session(warehouse, pipeline_vault, landing_zone) as session:
        rotation = rotation_vault.login()
        runs = DagsterRunControl(context.instance)
        failed = []
        for tenant in session.registry.list("active"):
            result = rotate_tenant_key(rotation, session.landing, runs, tenant.tenant_id)
            context.log.info(f"tenant {tenant.tenant_id}: {result.metadata()}")
            if result.errors:
                failed.append(tenant.tenant_id)
    if failed:
        raise Failure(description=f"rewrap failed for some envelopes of {', '.join(failed)}; they stay readable "
                      "under their old key version and are retried at the next rotation")


@job(name="rotate_tenant_keys", description="Transit rotate + rewrap + min_decryption_version, for active tenants.",
     tags={"retkee/duty": "rotation"})
def rotation_job():
    rotate_tenant_keys_op()


rotation_schedule = ScheduleDefinition(
    name="rotate_tenant_keys_monthly", job=rotation_job, cron_schedule="0 3 1 * *",
    execution_timezone="UTC", default_status=DefaultScheduleStatus.RUNNING,
)

# --- retention caps: nothing older than its dataset's cap, logs kept 12 months and no more than the setting ---
# Tenants whose data is still held (an erased tenant has none left).
HOLDING_STATUSES = ("active", *ERASABLE_STATUSES)

RETENTION_REMOVALS = AssetSpec(
    key=AssetKey(["audit", "retention_removals"]),
    description="What the daily retention run removed because it was older than its dataset's cap: tenant, "
    "dataset, day range, rows, landed documents (audit.retention_removals; see docs/retention.md).",
    group_name="retention",
    kinds={"postgres"},
    metadata=PLATFORM_ASSETS["audit/retention_removals"],
)


class DagsterPartitionRecords:
    """PartitionRecords (orchestration/retain/age.py) on a Dagster instance.

    The PostgreSQL event storage cannot wipe single partitions (`wipe_asset_partitions` raises
    NotImplementedError in Dagster 1.13), and wiping the whole asset would erase the history of every tenant.
    So a removed partition is recorded as removed: a runless AssetObservation on the asset partition, with the
    cutoff and the run. The partitions definition's start has moved past those days (defs/partitions.py), so
    partition status no longer counts them; their old materialization events stay as run history (they carry
    counts and pseudonymous tenant ids only, never seller data).
    """

    def __init__(self, instance: DagsterInstance) -> None:
        self._instance = instance

    def materialized_days(self, tenant_id: str, dataset: str) -> set[str]:
        days = set()
        for key in self._instance.get_materialized_partitions(raw_asset_key(DATASETS[dataset])):
            day, _, tenant = key.partition("|")
            if tenant == tenant_id:
                days.add(day)
        return days

    def mark_removed(self, tenant_id: str, dataset: str, days: list[str], metadata: dict) -> int:
        for day in days:
            self._instance.report_runless_asset_event(AssetObservation(
                asset_key=raw_asset_key(DATASETS[dataset]),
                partition=str(MultiPartitionKey({"tenant": tenant_id, "day": day})),
                description="removed: older than the dataset's retention cap",
                metadata=metadata,
            ))
        return len(days)


def incremental_marts(manifest: Mapping) -> dict[str, tuple[str, ...]]:
    """Raw table -> the incremental marts built from it. Removing old raw rows does not remove the days those
    marts already hold (an incremental build only replaces days it reloads), so the removal drops them and
    their next build is a full one."""
    found: dict[str, list[str]] = {}
    for unique_id, node in manifest["nodes"].items():
        config = node.get("config", {})
        if node["resource_type"] == "model" and config.get("materialized") == "incremental" \
                and config.get("schema") == "marts":
            for raw_table in upstream_raw_tables(manifest, unique_id):
                found.setdefault(raw_table, []).append(node.get("alias") or node["name"])
    return {table: tuple(sorted(marts)) for table, marts in found.items()}


def remove_expired_for_tenants(session, instance: DagsterInstance, run_id: str, today: date,
                               log=lambda message: None) -> tuple[list, list[str]]:
    """Remove what is older than its cap for every tenant whose data is held; (removals, failed tenants)."""
    caps = age_caps()
    tools = RemovalTools(conn=session.conn, landing=session.landing, partitions=DagsterPartitionRecords(instance),
                         run_id=run_id, incremental_marts=incremental_marts(manifest_json()), log=log)
    removals, failed = [], []
    for tenant in [t for status in HOLDING_STATUSES for t in session.registry.list(status)]:
        try:
            removals.extend(remove_expired(tools, tenant.tenant_id, today, caps))
        except (RetentionError, psycopg.Error, OSError) as exc:
            # One tenant's failure must not keep the others' old data; its plan is kept and finished next time.
            log(f"tenant {tenant.tenant_id}: removal failed and is retried ({type(exc).__name__}: {exc})")
            if not session.conn.closed and session.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                session.conn.rollback()
            failed.append(tenant.tenant_id)
    return removals, failed


@op(name="remove_expired_partitions", out={},
    retry_policy=RetryPolicy(max_retries=2, delay=300, backoff=Backoff.EXPONENTIAL),
    description="Remove every partition older than its dataset's retention cap, for every tenant "
    "(orchestration/retain/age.py); re-runnable, each removal recorded once.")
def remove_expired_partitions(context: OpExecutionContext, warehouse: WarehouseResource,
                              pipeline_vault: VaultResource, landing_zone: LandingZoneResource):
    with run_session(warehouse, pipeline_vault, landing_zone) as session:
        removals, failed = remove_expired_for_tenants(session, context.instance, context.run_id,
                                                      datetime.now(UTC).date(), context.log.info)
    yield AssetMaterialization(
        asset_key=RETENTION_REMOVALS.key,
        description=f"{len(removals)} removal(s) recorded",
        metadata={
            "removals": len(removals),
            "tenants": len({r.tenant_id for r in removals}),
            "rows_removed": sum(r.rows_removed for r in removals),
            "documents_removed": sum(r.documents_removed for r in removals),
            "failed_tenants": ", ".join(failed) or "none",
        },
    )
    if failed:
        raise Failure(description=f"removal of data older than its cap failed for {', '.join(failed)}; their "
                      "plans are kept and the removal is finished by the retry or the next run")


def prune_logs(conn: psycopg.Connection, months: int) -> dict[str, int]:
    """Prune the access log and the retention records older than `months` (the database refuses below 12)."""
    with conn.transaction():
        rows = conn.execute("select log, rows_pruned from audit.prune_audit_logs(%s)", (months,)).fetchall()
    return {log: int(count) for log, count in rows}


@op(name="prune_audit_logs", description="Prune the access log and retention records past "
    "RETKEE_LOG_RETENTION_MONTHS (13 by default; never below 12).")
def prune_audit_logs_op(context: OpExecutionContext, warehouse: WarehouseResource, pipeline_vault: VaultResource):
    months = log_retention_months()
    with warehouse.connect(pipeline_vault.login()) as conn:
        pruned = prune_logs(conn, months)
    context.log.info(f"logs kept {months} months; pruned {pruned}")


@job(name="apply_retention_caps", description="Daily: remove data older than its dataset's cap, for every tenant, "
     "and prune logs past their retention period.", tags={"retkee/duty": "retention"})
def retention_caps_job():
    remove_expired_partitions()
    prune_audit_logs_op()


retention_caps_schedule = ScheduleDefinition(
    name="apply_retention_caps_daily", job=retention_caps_job, cron_schedule="30 2 * * *",
    execution_timezone="UTC", default_status=DefaultScheduleStatus.RUNNING,
)

CAP_CHECK = "within_retention_cap"
# Every raw dataset an extraction asset loads (a catalogue entry with no extraction yet has no asset to check).
RAW_DATASETS = [d for extraction in EXTRACTIONS.values() for d in extraction.datasets]


def past_cap(conn: psycopg.Connection, registry: TenantRegistry, today: date) -> dict[str, list[dict]]:
    """Dataset -> the tenants holding a day older than its cap, with that oldest day."""
    caps = age_caps()
    found: dict[str, list[dict]] = {name: [] for name in DATASETS}
    for tenant in [t for status in HOLDING_STATUSES for t in registry.list(status)]:
        for name, cap in caps.items():
            oldest = oldest_day_held(conn, tenant.tenant_id, name)
            if oldest is not None and cap.expired(date.fromisoformat(oldest), today):
                found[name].append({"tenant_id": tenant.tenant_id, "oldest_day_held": oldest})
    conn.commit()
    return found


@multi_asset_check(
    specs=[AssetCheckSpec(CAP_CHECK, asset=raw_asset_key(d), description="No tenant holds a partition older than "
                          f"this dataset's retention cap (by default {d.max_age_months} months; docs/retention.md).")
           for d in RAW_DATASETS],
    name="retention_caps",
    # Run by its own daily job (check_retention_caps), not by each tenant's extraction: it scans every tenant.
    # A selection of some of its checks runs those only.
    can_subset=True,
)
def retention_caps_check(context: AssetCheckExecutionContext, warehouse: WarehouseResource,
                         pipeline_vault: VaultResource):
    today = datetime.now(UTC).date()
    caps = age_caps()
    with warehouse.connect(pipeline_vault.login()) as conn:
        found = past_cap(conn, TenantRegistry(conn), today)
    for dataset in RAW_DATASETS:
        if AssetCheckKey(raw_asset_key(dataset), CAP_CHECK) not in context.selected_asset_check_keys:
            continue
        name = dataset.name
        cap = caps[name]
        yield AssetCheckResult(
            asset_key=raw_asset_key(dataset),
            check_name=CAP_CHECK,
            passed=not found[name],
            severity=AssetCheckSeverity.ERROR,
            metadata={
                "cap_months": cap.months,
                "oldest_day_kept": cap.oldest_day_kept(today).isoformat(),
                "legal_basis": str(cap.legal_basis) if cap.legal_basis else "none",
                "tenants_past_cap": ", ".join(f"{t['tenant_id']} ({t['oldest_day_held']})" for t in found[name])
                or "none",
            },
        )


retention_cap_check_job = define_asset_job(
    "check_retention_caps", selection=AssetSelection.checks(retention_caps_check),
    description="Fail each raw dataset's check when a tenant holds data older than its cap.",
)
retention_cap_check_schedule = ScheduleDefinition(
    name="check_retention_caps_daily", job=retention_cap_check_job, cron_schedule="30 5 * * *",
    execution_timezone="UTC", default_status=DefaultScheduleStatus.RUNNING,
)

RETENTION_ASSETS = [ERASURE_CERTIFICATES, RETENTION_REMOVALS]
RETENTION_CHECKS = [erasure_deadlines, retention_caps_check]
RETENTION_JOBS = [erasure_job, pii_purge_job, deadline_check_job, rotation_job, retention_caps_job,
                  retention_cap_check_job]
RETENTION_SCHEDULES = [deadline_check_schedule, rotation_schedule, retention_caps_schedule,
                       retention_cap_check_schedule]
@sensor(
    name="rebuild_marts_after_retention",
    asset_selection=AssetSelection.assets(tenant_models),
    minimum_interval_seconds=300,
    default_status=DefaultSensorStatus.RUNNING,
    description="Launches a tenant's marts build after the retention removal dropped its incremental marts, so "
    "they come back (built in full, without the removed days) without waiting for the next refresh.",
)
def rebuild_marts_after_retention(context: SensorEvaluationContext, warehouse: WarehouseResource,
                                  pipeline_vault: VaultResource):
    after = int(context.cursor or 0)
    with warehouse.connect(pipeline_vault.login()) as conn:
        rows = conn.execute(
            "select removal_id, tenant_id from audit.retention_removals where removal_id > %s"
            " and cardinality(marts_dropped) > 0 order by removal_id", (after,)).fetchall()
        active = {t.tenant_id for t in TenantRegistry(conn).list("active")}
        conn.commit()
    if not rows:
        return SkipReason("no mart was dropped by a retention removal since the last tick")
    # One build per tenant and tick; the run key makes a repeated tick harmless.
    latest = {tenant_id: removal_id for removal_id, tenant_id in rows}
    requests = [RunRequest(run_key=f"retention-rebuild:{removal_id}", partition_key=tenant_id)
                for tenant_id, removal_id in sorted(latest.items()) if tenant_id in active]
    return SensorResult(run_requests=requests, cursor=str(rows[-1][0]))


RETENTION_SENSORS = [retention_sensor, rebuild_marts_after_retention]

# The retention concern of the code location (definitions.py merges it with the others).
retention_definitions = Definitions(assets=RETENTION_ASSETS, asset_checks=RETENTION_CHECKS, jobs=RETENTION_JOBS,
                                    schedules=RETENTION_SCHEDULES, sensors=RETENTION_SENSORS)
