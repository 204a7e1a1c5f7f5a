"""The in-process erasure (`retkee erase --now`): the code location's erasure job, run in this process.

An application of the code location, like refresh.py and the CLI: it sits above definitions.py, which nothing
below imports. The run is recorded in Dagster like a sensor-launched one.
"""

from __future__ import annotations

from dagster import DagsterInstance

from orchestration.definitions import defs
from orchestration.defs.retention import ERASURE_TAG, erasure_job, erasure_run_config


def run_erasure_now(tenant_id: str, instance: DagsterInstance) -> tuple[bool, str | None]:
    """Run the erasure job in this process (recorded in Dagster like a sensor-launched run).

    Returns (success, failure description); the certificate is read from the audit schema by the caller.
    """
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
