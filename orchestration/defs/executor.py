"""Which executor runs the steps of the code location's jobs: Dagster's default, or dagster-celery's on our broker.

`RETKEE_EXECUTOR` (orchestration/settings.py) chooses when the code location loads, so every job has the same
executor in the code location, the run worker and each Celery worker. The Celery executor reads the broker's
password from its file when a run starts (never at import, never from run config: a run's config is stored in
Dagster's run storage and shown in the UI), and the workers build their Celery app the same way (`celery_app`).
"""

from __future__ import annotations

import warnings

from celery import Celery
from celery.exceptions import DuplicateTaskNameWarning
from dagster import ExecutorDefinition, executor, multiple_process_executor_requirements

# dagster-celery's own executor class and config schema; RetryMode is how Dagster itself reads `retries` (it has
# no public name, and dagster_celery imports it the same way).
from dagster._core.execution.retries import RetryMode
from dagster_celery.executor import CELERY_CONFIG, CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from orchestration.settings import CeleryBroker
from orchestration.settings import executor as chosen_executor


def celery_settings(broker: CeleryBroker) -> dict[str, object]:
    """Broker, result backend and Celery settings for the executor and the workers alike: one Redis for both,
    over TLS, and a worker that takes one step at a time (a step holds a seller's quota and a warehouse load)."""
    url = broker.url_with_password()
    tls = broker.tls_options()
    return {
        "broker": url,
        "backend": url,
        "config_source": {
            "broker_use_ssl": tls,
            "redis_backend_use_ssl": tls,
            "worker_prefetch_multiplier": 1,
            # A step's events come back through the result backend once; nobody reads them a day later.
            "result_expires": 24 * 3600,
            "broker_connection_retry_on_startup": True,
        },
    }


@executor(
    name="celery",
    config_schema={"retries": CELERY_CONFIG["retries"]},
    requirements=multiple_process_executor_requirements(),
)
def celery_executor_from_settings(init_context) -> CeleryExecutor:
    """dagster-celery's executor, on the broker the settings name (read when the run starts)."""
    # dagster-celery registers its step task again for every step it submits, on the same app and under the same
    # name; Celery 5.5+ warns each time (the first registration is the one used, which is what dagster-celery
    # means). Silenced for that module only.
    warnings.filterwarnings("ignore", category=DuplicateTaskNameWarning, module="dagster_celery")
    return CeleryExecutor(
        retries=RetryMode.from_config(init_context.executor_config["retries"]),
        **celery_settings(CeleryBroker.from_env()),
    )


def run_executor() -> ExecutorDefinition | None:
    """The code location's executor: None keeps Dagster's default (in-process for `retkee refresh`)."""
    return celery_executor_from_settings if chosen_executor() == "celery" else None


def celery_app(broker: CeleryBroker | None = None) -> Celery:
    """The Celery app a worker serves (and the local stack pings): dagster-celery's, with its step task; on the broker
    the settings name unless one is given."""
    app = make_app(CeleryExecutor.for_cli(**celery_settings(broker or CeleryBroker.from_env())).app_args())
    create_task(app)
    return app
