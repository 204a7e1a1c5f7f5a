"""A stack of its own for a test session or a benchmark: temporary data dir, free ports, torn down after.

While inside `throwaway_stack`, this process's environment points at the stack (the pipeline's RETKEE_*
settings, Dagster's storage); afterwards the environment is restored and the stack stopped and removed, so
nothing touches `.data/` or a running `make run` stack.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from local_stack.config import StackConfig
from local_stack.demo import ensure_dagster_home
from local_stack.ports import free_port
from local_stack.settings import dagster_env
from local_stack.stack import Stack


@contextmanager
def throwaway_stack(prefix: str, *, time_scale: float | None = None, executor: str = "in_process",
                    celery_workers: int = 2) -> Iterator[StackConfig]:
    """PostgreSQL and OpenBao, plus the SP-API sandbox on `time_scale` (RETKEE_SPAPI_RATE_SCALE follows it)
    when one is given, plus the Celery broker and `celery_workers` workers with executor "celery"."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o711)  # PostgreSQL's OS user must be able to enter it
    with_sandbox = time_scale is not None
    config = StackConfig(data_dir=root / "data", pg_port=free_port(), vault_port=free_port(),
                         vault_cluster_port=free_port(), sandbox_port=free_port(), dagster_port=free_port(),
                         redis_port=free_port(), executor=executor, celery_workers=celery_workers,
                         with_sandbox=with_sandbox, **({"sandbox_time_scale": time_scale} if with_sandbox else {}))
    stack = Stack(config)
    saved = dict(os.environ)
    try:
        stack.up()
        ensure_dagster_home(config)
        os.environ.update(dagster_env(config))
        yield config
    finally:
        os.environ.clear()
        os.environ.update(saved)
        stack.clean()
        shutil.rmtree(root, ignore_errors=True)
