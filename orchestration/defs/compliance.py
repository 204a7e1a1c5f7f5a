"""The compliance report as an asset: materializing it writes the HTML report and records where it is."""

from dagster import AssetExecutionContext, Definitions, MaterializeResult, MetadataValue, asset, define_asset_job

from orchestration.compliance.access_log import DB_ROLE_TAG, VAULT_DUTY_TAG, sync_access_log
from orchestration.compliance.classification import compliance_tags
from orchestration.compliance.labels import PLATFORM_ASSETS
from orchestration.compliance.promises import promises
from orchestration.compliance.report import default_report_path, write_report
from orchestration.defs.resources import (
    LandingZoneResource,
    VaultResource,
    WarehouseResource,
    compliance_session,
)

REPORT_LABELS = PLATFORM_ASSETS["compliance/compliance_report"]


@asset(
    key=["compliance", "compliance_report"],
    group_name="compliance",
    kinds={"html"},
    description="HTML evidence for privacy reviews: the privacy promises judged from the live system, inventory per "
    "classification, tenant lifecycle, erasure requests, certificates and deadlines, key rotation, roles and grants, "
    "last vulnerability audit.",
    tags=compliance_tags(REPORT_LABELS["data_classification"]),
    metadata=REPORT_LABELS,
)
def compliance_report(context: AssetExecutionContext, warehouse: WarehouseResource, pipeline_vault: VaultResource,
                      compliance_vault: VaultResource, landing_zone: LandingZoneResource) -> MaterializeResult:
    # The access log is brought up to date as the pipeline (which writes it); the report reads as the officer.
    with warehouse.connect(pipeline_vault.login()) as conn:
        sync_access_log(context.instance, conn)
    with compliance_session(warehouse, compliance_vault, landing_zone) as session:
        path = default_report_path(session.settings)
        report = write_report(session, path)
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(path)),
            "tenants": sum(len(t) for t in report.tenants_by_state.values()),
            "awaiting_erasure": len(report.erasure_deadlines),
            "tenant_keys": len(report.keys),
            "vulnerability_audit": str((report.vulnerability_audit or {}).get("outcome", "never run")),
            "promises_failing": ", ".join(str(p.number) for p in promises(report) if not p.holds) or "none",
        }
    )


compliance_job = define_asset_job(
    "compliance_report", selection=[compliance_report], tags={DB_ROLE_TAG: "compliance", VAULT_DUTY_TAG: "compliance"}
)

# The compliance concern of the code location (definitions.py merges it with the others).
compliance_definitions = Definitions(assets=[compliance_report], jobs=[compliance_job])
