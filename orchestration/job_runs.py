"""Runs one of the code location's jobs, for a partition, on the executor the settings choose.

In-process (the default), the run executes in this process (`execute_in_process`). With RETKEE_EXECUTOR=celery
the run is still coordinated here, but through `execute_job` on a reconstructable job, so that its steps go to the
Celery workers: `execute_in_process` would ignore the code location's executor. The workers rebuild the job from
`code_location_job` below, by name and selection, from the same code location.

A run of some of a job's assets runs the job's own checks on them and no others. Dagster's `asset_selection`
alone would select every check defined on those assets, the ones the job leaves out included (the extraction job
leaves out the retention-cap checks, which scan every tenant: in each tenant's run they made a refresh quadratic
in tenants). So the selection is made here, as a subset of the job, assets and checks together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

from dagster import AssetCheckKey, AssetKey, DagsterInstance, JobDefinition, build_reconstructable_job, execute_job

from orchestration.definitions import defs
from orchestration.instance_storage import forget_partitions
from orchestration.settings import executor


def code_location_job(job_name: str, *selected: str) -> JobDefinition:
    """The job as the code location defines it, or its subset for the assets `selected` names (user strings,
    "raw/orders") with the job's own checks on them: the reconstructor a Celery worker calls."""
    if not selected:
        return defs.resolve_job_def(job_name)
    return _subset(job_name, frozenset(selected))


@cache
def _subset(job_name: str, selected: frozenset[str]) -> JobDefinition:
    """Built once per selection in a process (a refresh asks the same two selections of every tenant)."""
    job = defs.resolve_job_def(job_name)
    keys = {AssetKey.from_user_string(name) for name in selected}
    return job.get_subset(asset_selection=keys, asset_check_selection=job_checks(job, keys))


def job_checks(job: JobDefinition, keys: set[AssetKey]) -> set[AssetCheckKey]:
    """The checks `job` selects on `keys`' assets."""
    return {check for check in job.asset_layer.asset_graph.asset_check_keys if check.asset_key in keys}


def run_job(
    job_name: str,
    instance: DagsterInstance,
    *,
    partition_key: str | None = None,
    asset_selection: Sequence[AssetKey] | None = None,
    tags: Mapping[str, str] | None = None,
):
    """Run `job_name` (of it, the assets `asset_selection` names and the job's checks on them) and return its
    result (`.success`, `.run_id`, `.all_events`); failures do not raise."""
    forget_partitions(instance)
    selected = tuple(sorted(key.to_user_string() for key in asset_selection or ()))
    job = code_location_job(job_name, *selected)
    if executor() != "celery":
        return job.execute_in_process(instance=instance, partition_key=partition_key, tags=tags, raise_on_error=False)
    # The tags execute_in_process would give the run, the partition's ones (dagster/partition/tenant) included:
    # dagster.yaml's one-run-per-tenant limit and the UI's partition view read them.
    run_tags = dict(tags or {})
    if partition_key is not None:
        run_tags.update(job.get_tags_for_partition_key(partition_key, None))
    reconstructable = build_reconstructable_job(__name__, code_location_job.__name__, (job_name, *selected))
    return execute_job(reconstructable, instance=instance, tags=run_tags)
