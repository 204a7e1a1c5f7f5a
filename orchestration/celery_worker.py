"""A Celery worker that runs the steps of Retkee's runs under RETKEE_EXECUTOR=celery.

`python -m orchestration.celery_worker --name celery-worker-1` is Celery's own worker (`worker_main`) serving
dagster-celery's step task, on the broker the settings name. A step it takes reconstructs its job from the code
location (orchestration/job_runs.py) and opens its own session (Vault, the warehouse, the landing zone) from this
process's environment, exactly as a run in the code location does; so the worker must be started with the code
location's environment (the local stack starts it so).
"""

from __future__ import annotations

import argparse

from orchestration.defs.executor import celery_app

# dagster-celery's queue (dagster_celery.make_app): every step task is routed there.
QUEUE = "dagster"


def worker_argv(name: str, concurrency: int) -> list[str]:
    """Celery worker options: a node name that says which worker ran a step (it is in the step's engine event),
    one step per process at a time, no prefetching past it."""
    return [
        "worker", "--hostname", f"{name}@%h", "--queues", QUEUE, "--concurrency", str(concurrency),
        "--prefetch-multiplier", "1", "--without-gossip", "--without-mingle",
        # Celery logs every task's result at INFO: a step's serialized events, which Dagster's event log already
        # holds, in full; its log keeps warnings and errors.
        "--loglevel", "WARNING",
    ]


def warm_up() -> None:
    """Load once, before Celery forks its pool, what every step would otherwise load in its first run: the code
    location, great-expectations' contexts and the dbt manifest (tens of seconds on a busy machine, per process).
    The pool's processes inherit them; nothing opened here is a connection."""
    from orchestration.job_runs import code_location_job
    from orchestration.quality.expectations import warm_up as warm_up_expectations
    from orchestration.transform.tenant_runner import shared_runner

    for job_name in ("extract_reports", "build_marts"):
        code_location_job(job_name)
    warm_up_expectations()
    shared_runner().manifest()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="the worker's node name (before @host)")
    parser.add_argument("--concurrency", type=int, default=1, help="steps this worker runs at once")
    options = parser.parse_args(argv)
    app = celery_app()
    warm_up()
    app.worker_main(worker_argv(options.name, options.concurrency))


if __name__ == "__main__":
    main()
