"""The Retkee code location: assembles assets, checks, jobs and resources. No logic lives here."""

from __future__ import annotations

from dagster import Definitions, define_asset_job

from orchestration.compliance.access_log import DB_ROLE_TAG, VAULT_DUTY_TAG
from orchestration.defs.audit import record_access_log
from orchestration.defs.compliance import compliance_report
from orchestration.defs.executor import run_executor
from orchestration.defs.extraction import REPORT_ASSETS
from orchestration.defs.marts import dbt_resource, tenant_models
from orchestration.defs.resources import Platform
from orchestration.defs.retention import (
    RETENTION_ASSETS,
    RETENTION_CHECKS,
    RETENTION_JOBS,
    RETENTION_SCHEDULES,
    RETENTION_SENSORS,
)
from orchestration.defs.schedules import daily_extraction, extraction_job
from orchestration.secrets.redaction import install_log_redaction
from orchestration.settings import Settings, environment

install_log_redaction()
if environment() == "production":
    Settings.from_env()  # refuses development defaults before the code location accepts any run

marts_job = define_asset_job("build_marts", selection=[tenant_models])
compliance_job = define_asset_job(
    "compliance_report", selection=[compliance_report], tags={DB_ROLE_TAG: "compliance", VAULT_DUTY_TAG: "compliance"}
)

defs = Definitions(
    assets=[*REPORT_ASSETS, tenant_models, compliance_report, *RETENTION_ASSETS],
    asset_checks=RETENTION_CHECKS,
    jobs=[extraction_job, marts_job, compliance_job, *RETENTION_JOBS],
    schedules=[daily_extraction, *RETENTION_SCHEDULES],
    sensors=[record_access_log, *RETENTION_SENSORS],
    resources={"platform": Platform(), "dbt": dbt_resource()},
    # RETKEE_EXECUTOR: Dagster's default, or each step a task for the Celery workers (defs/executor.py).
    executor=run_executor(),
)
