"""The Retkee code location: assembles assets, checks, jobs and resources. No logic lives here."""

from __future__ import annotations

from dagster import Definitions, define_asset_job

from orchestration.defs.extraction import REPORT_ASSETS
from orchestration.defs.marts import dbt_resource, tenant_models
from orchestration.defs.resources import Platform
from orchestration.secrets.redaction import install_log_redaction

install_log_redaction()

extraction_job = define_asset_job("extract_reports", selection=[a.key for a in REPORT_ASSETS])
marts_job = define_asset_job("build_marts", selection=[tenant_models])

defs = Definitions(
    assets=[*REPORT_ASSETS, tenant_models],
    jobs=[extraction_job, marts_job],
    resources={"platform": Platform(), "dbt": dbt_resource()},
)
