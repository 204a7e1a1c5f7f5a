"""Runs one of the code location's jobs, for a partition, on the executor the settings choose.

In-process (the default), the run executes in this process (`execute_in_process`). With RETKEE_EXECUTOR=celery
the run is still coordinated here, but through `execute_job` on a reconstructable job, so that its steps go to the
Celery workers: `execute_in_process` would ignore the code location's executor. The workers rebuild the job from
`code_location_job` below, by name, from the same code location.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dagster import AssetKey, DagsterInstance, JobDefinition, build_reconstructable_job, execute_job

from orchestration.definitions import defs
from orchestration.settings import executor


def code_location_job(job_name: str) -> JobDefinition:
    """The job as the code location defines it (the reconstructor a Celery worker calls)."""
    return defs.resolve_job_def(job_name)


def run_job(
    job_name: str,
    instance: DagsterInstance,
    *,
    partition_key: str | None = None,
    asset_selection: Sequence[AssetKey] | None = None,
    tags: Mapping[str, str] | None = None,
):
    """Run `job_name` and return its result (`.success`, `.run_id`, `.all_events`); failures do not raise."""
    job = code_location_job(job_name)
    if executor() != "celery":
        return job.execute_in_process(instance=instance, partition_key=partition_key, asset_selection=asset_selection,
                                      tags=tags, raise_on_error=False)
    # The tags execute_in_process would give the run, the partition's ones (dagster/partition/tenant) included:
    # dagster.yaml's one-run-per-tenant limit and the UI's partition view read them.
    run_tags = dict(tags or {})
    if partition_key is not None:
        run_tags.update(job.get_tags_for_partition_key(partition_key, asset_selection))
    reconstructable = build_reconstructable_job(__name__, code_location_job.__name__, (job_name,))
    return execute_job(reconstructable, instance=instance, tags=run_tags,
                       asset_selection=list(asset_selection) if asset_selection else None)
