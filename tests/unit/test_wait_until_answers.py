"""local_stack.processes.wait_until_answers: the one wait every server of the stack goes through (the
broker, the sandbox, OpenBao). Real processes (`sleep`, `true`), no servers."""

from __future__ import annotations

import sys
import time

import pytest

from local_stack import processes
from local_stack.config import StackConfig
from local_stack.errors import StackError


@pytest.fixture
def config(tmp_path):
    return StackConfig(data_dir=tmp_path)


def test_returns_as_soon_as_the_probe_answers(config):
    answers = iter([False, False, True])
    processes.start_process(config, "sleeper", ["sleep", "30"])
    try:
        started = time.monotonic()
        processes.wait_until_answers(config, "sleeper", lambda: next(answers), what="sleeper", timeout=10)
        assert time.monotonic() - started < 5
    finally:
        processes.stop_process(config, "sleeper")


def test_a_process_that_exits_stops_the_wait_with_its_log_and_last_error(config):
    processes.start_process(config, "talker", [sys.executable, "-c", "print('port already in use')"])
    time.sleep(0.5)

    def refuses() -> bool:
        raise ConnectionRefusedError("connection refused")

    started = time.monotonic()
    with pytest.raises(StackError) as raised:
        processes.wait_until_answers(config, "talker", refuses, what="the talker", timeout=20)
    assert time.monotonic() - started < 5, "an exited process must not be waited for until the timeout"
    message = str(raised.value)
    assert "the talker did not answer (the process exited" in message
    assert "connection refused" in message and "port already in use" in message


def test_a_running_process_that_never_answers_times_out(config):
    processes.start_process(config, "mute", ["sleep", "30"])
    try:
        with pytest.raises(StackError, match="still running but did not answer within 1 s"):
            processes.wait_until_answers(config, "mute", lambda: False, what="mute", timeout=1)
    finally:
        processes.stop_process(config, "mute")


def test_an_unexpected_error_is_not_swallowed(config):
    def broken() -> bool:
        raise KeyError("a bug in the probe")

    with pytest.raises(KeyError):
        processes.wait_until_answers(config, "nothing", broken, what="nothing", timeout=5)
