"""Retention in Dagster: the sensor that launches erasures, the erasure job, key rotation, deadline checks.

The sensor runs under the daemon (on by default): every minute it lists revoked and terminated tenants and
launches `erase_tenant` for each whose grace period is over (a seller's own request has none). A failed
attempt is launched again on a later tick, up to MAX_ATTEMPTS; the `erasure_deadlines` asset check and the
sensor's log report any tenant near or past its 30-day deadline. The work itself is in orchestration/retain/.
"""

from datetime import UTC, datetime

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    AssetMaterialization,
    AssetSelection,
    AssetSpec,
    Config,
    DagsterInstance,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Failure,
    OpExecutionContext,
    RunRequest,
    RunsFilter,
    ScheduleDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset_check,
    define_asset_job,
    job,
    op,
    sensor,
)

from orchestration.defs.partitions import TENANTS
from orchestration.defs.resources import Platform
from orchestration.retain.certificate import requested_tenants
from orchestration.retain.erasure import ErasureError, ErasureTools, erase_tenant
from orchestration.retain.pii import PII_TABLES, purge_expired_pii
from orchestration.retain.policy import ERASABLE_STATUSES, deadline_status, grace_from_env, is_due
from orchestration.retain.rotation import rotate_tenant_key
from orchestration.secrets.vault import Vault
from orchestration.warehouse.schemas import check_tenant_id

ERASURE_TAG = "retkee/erasure-of"  # value: the pseudonymous tenant id, never a seller id
MAX_ATTEMPTS = 5
IN_FLIGHT = [
    DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING,
]
# The tags by which a tenant's runs are found: multi-partition runs (tenant x day) and tenant runs.
TENANT_RUN_TAGS = ("dagster/partition/tenant", "dagster/partition")

ERASURE_CERTIFICATES = AssetSpec(
    key=AssetKey(["audit", "erasure_certificates"]),
    description="One certificate per erased tenant: what was destroyed and how it was verified "
    "(audit.erasure_certificates; see docs/retention.md). Pseudonymous tenant ids only, no seller data.",
    group_name="retention",
    kinds={"postgres"},
    metadata={"retention": "kept as long as the platform exists", "owner": "data-engineering"},
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
def erase_tenant_data(context: OpExecutionContext, config: EraseTenantConfig, platform: Platform):
    tenant_id = check_tenant_id(config.tenant_id)
    with platform.session() as session:
        tools = ErasureTools(
            conn=session.conn,
            pipeline_vault=session.vault,
            erasure_vault=Vault(session.settings.for_duty("erasure")),
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
def purge_expired_pii_op(context: OpExecutionContext, platform: Platform):
    now = datetime.now(UTC)
    with platform.session() as session:
        for tenant in session.registry.list("active"):
            deleted = purge_expired_pii(session.conn, tenant.tenant_id, now)
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
def retention_sensor(context: SensorEvaluationContext, platform: Platform):
    now = datetime.now(UTC)
    grace = grace_from_env()
    with platform.session() as session:
        tenants = [t for status in ERASABLE_STATUSES for t in session.registry.list(status)]
        on_request = requested_tenants(session.conn)
    requests: list[RunRequest] = []
    waiting: list[str] = []
    for tenant in tenants:
        deadline = deadline_status(tenant.tenant_id, tenant.erasure_requested_at or now, now)
        if deadline.reportable:
            context.log.warning(f"tenant {tenant.tenant_id} erasure deadline {deadline.deadline.isoformat()} is "
                                f"{deadline.state}")
        if not is_due(tenant.status, tenant.erasure_requested_at, now, grace,
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
def erasure_deadlines(platform: Platform) -> AssetCheckResult:
    now = datetime.now(UTC)
    with platform.session() as session:
        tenants = [t for status in ERASABLE_STATUSES for t in session.registry.list(status)]
    statuses = [deadline_status(t.tenant_id, t.erasure_requested_at or now, now) for t in tenants]
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
def rotate_tenant_keys_op(context: OpExecutionContext, platform: Platform):
    with platform.session() as session:
        rotation_vault = Vault(session.settings.for_duty("rotation"))
        runs = DagsterRunControl(context.instance)
        failed = []
        for tenant in session.registry.list("active"):
            result = rotate_tenant_key(rotation_vault, session.landing, runs, tenant.tenant_id)
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

RETENTION_ASSETS = [ERASURE_CERTIFICATES]
RETENTION_CHECKS = [erasure_deadlines]
RETENTION_JOBS = [erasure_job, pii_purge_job, deadline_check_job, rotation_job]
RETENTION_SCHEDULES = [deadline_check_schedule, rotation_schedule]
RETENTION_SENSORS = [retention_sensor]


def run_erasure_now(tenant_id: str, instance: DagsterInstance) -> tuple[bool, str | None]:
    """Run the erasure job in this process (recorded in Dagster like a sensor-launched run).

    Returns (success, failure description); the certificate is read from the audit schema by the caller.
    """
    from orchestration.definitions import defs

    result = defs.resolve_job_def(erasure_job.name).execute_in_process(
        run_config=erasure_run_config(tenant_id), instance=instance, tags={ERASURE_TAG: tenant_id},
        raise_on_error=False,
    )
    if result.success:
        return True, None
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.user_failure_data:
            return False, event.step_failure_data.user_failure_data.description
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            return False, event.step_failure_data.error.message.strip()
    return False, "the erasure run failed"
