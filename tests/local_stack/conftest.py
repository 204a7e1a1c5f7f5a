"""A real local stack (PostgreSQL + OpenBao) in a temporary data dir on free ports, shared by this folder."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack import Stack, StackConfig
from local_stack.ports import free_port


def _traversable_tmp_dir() -> Path:
    # pytest's tmp_path lives under /tmp/pytest-of-<user> (mode 0700); when we are root, PostgreSQL runs
    # as the `retkee` OS user and must be able to enter the data dir, so use a dir of our own in /tmp.
    path = Path(tempfile.mkdtemp(prefix="retkee-stack-test-"))
    path.chmod(0o711)
    return path


@pytest.fixture(scope="session")
def stack_config() -> Iterator[StackConfig]:
    root = _traversable_tmp_dir()
    vault_port = free_port()
    yield StackConfig(
        data_dir=root / "data",
        pg_port=free_port(),
        vault_port=vault_port,
        vault_cluster_port=free_port(),
        sandbox_port=free_port(),
        dagster_port=free_port(),
        # The sandbox is tested on its own (test_stack_sandbox.py) so these tests do not depend on it.
        with_sandbox=False,
    )
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def stack(stack_config: StackConfig) -> Iterator[Stack]:
    stack = Stack(stack_config)
    try:
        stack.up()
        yield stack
    finally:
        stack.clean()
