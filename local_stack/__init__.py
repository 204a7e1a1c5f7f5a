"""Local stack bring-up: PKI, PostgreSQL, OpenBao and the SP-API sandbox for development and tests.

`Stack(StackConfig()).up()` is what `python -m local_stack up` (and `make run`) does; tests build a
`StackConfig` of their own (temporary data dir, free ports) and use the same class.
"""

from local_stack.config import StackConfig
from local_stack.errors import StackError
from local_stack.processes import is_running, start_process, stop_process
from local_stack.settings import dagster_env, pipeline_env
from local_stack.stack import ServiceStatus, Stack

__all__ = [
    "ServiceStatus",
    "Stack",
    "StackConfig",
    "StackError",
    "dagster_env",
    "is_running",
    "pipeline_env",
    "start_process",
    "stop_process",
]
