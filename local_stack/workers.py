"""The Celery workers of RETKEE_EXECUTOR=celery: `celery-worker-1` .. `-N`, supervised by PID like the other servers.

Each worker (orchestration/celery_worker.py) is started with the environment the Dagster processes get
(settings.dagster_env: the pipeline's settings, Dagster's storage, the broker), so a step it takes opens Vault, the
warehouse and the landing zone exactly as a run in the code location does. `up` waits until every worker answers a
ping through the broker, so the first run's steps are shared by all of them.
"""

from __future__ import annotations

import sys
import time

from local_stack import processes
from local_stack.config import StackConfig
from local_stack.errors import StackError

PREFIX = "celery-worker-"


def worker_name(index: int) -> str:
    return f"{PREFIX}{index}"


def started_workers(config: StackConfig) -> list[str]:
    return [name for name in processes.supervised_names(config) if name.startswith(PREFIX)]


def start(config: StackConfig) -> list[int]:
    """Start workers 1..config.celery_workers (stopping any beyond), wait for each to answer; their PIDs."""
    from local_stack.settings import dagster_env

    wanted = [worker_name(i) for i in range(1, config.celery_workers + 1)]
    for name in started_workers(config):
        if name not in wanted:
            processes.stop_process(config, name)
    env = dagster_env(config)
    pids = [
        processes.start_process(
            config, name, [sys.executable, "-m", "orchestration.celery_worker", "--name", name],
            env=env, cwd=config.repo_root,
        )
        for name in wanted
    ]
    _wait_answering(config, wanted)
    return pids


def stop(config: StackConfig) -> list[str]:
    return [name for name in started_workers(config) if processes.stop_process(config, name)]


def _wait_answering(config: StackConfig, names: list[str], timeout: float = 300.0) -> None:
    """Until every worker answers Celery's ping (it loads the code location, great-expectations and the dbt manifest
    first: seconds on an idle machine, a minute or more on a busy one)."""
    from orchestration.defs.executor import celery_app
    from orchestration.settings import CeleryBroker

    app = celery_app(CeleryBroker(url=config.celery_broker_url, password_file=config.celery_broker_file,
                                  ca_file=config.ca_file))
    deadline = time.monotonic() + timeout
    answered: set[str] = set()
    try:
        while time.monotonic() < deadline:
            for reply in app.control.ping(timeout=1.0):
                answered.update(node.split("@", 1)[0] for node in reply)
            missing = [name for name in names if name not in answered]
            if not missing:
                return
            dead = [name for name in missing if not processes.is_running(config, name)]
            if dead:
                raise StackError(f"Celery worker {dead[0]} stopped while starting. Last log lines "
                                 f"({processes.log_file(config, dead[0])}):\n{processes.log_tail(config, dead[0])}")
            time.sleep(0.5)
    finally:
        app.close()
    raise StackError(f"Celery workers {', '.join(missing)} did not answer within {timeout:.0f} s; see "
                     f"{processes.log_file(config, missing[0])}")
