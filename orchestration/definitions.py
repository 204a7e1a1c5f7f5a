"""The Retkee code location: one Definitions per concern, merged with the shared resources. No logic lives here.

Each concern's assets, checks, jobs, schedules and sensors are declared in its own module under defs/; this
module only puts them side by side (`Definitions.merge`) with the resources every concern shares
(defs/resources.py), and sets the code location's global policy: log redaction and the production guard.
The concerns are imported as modules, not names: Dagster's loader wants one Definitions object at this
module's scope, `defs`.
"""

from __future__ import annotations

from dagster import Definitions

from orchestration.defs import audit, compliance, extraction, marts, resources, retention, schedules
from orchestration.defs.executor import run_executor
from orchestration.secrets.redaction import install_log_redaction
from orchestration.settings import Settings, environment

install_log_redaction()
if environment() == "production":
    Settings.from_env()  # refuses development defaults before the code location accepts any run

defs = Definitions.merge(
    # extraction (defs/extraction.py, defs/schedules.py)
    Definitions(assets=extraction.REPORT_ASSETS, jobs=[schedules.extraction_job],
                schedules=[schedules.daily_extraction]),
    marts.marts_definitions,
    compliance.compliance_definitions,
    retention.retention_definitions,
    audit.audit_definitions,
    Definitions(resources=resources.code_location_resources()),
    # RETKEE_EXECUTOR: Dagster's default, or each step a task for the Celery workers (defs/executor.py).
    Definitions(executor=run_executor()),
)
