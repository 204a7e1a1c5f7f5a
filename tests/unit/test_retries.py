"""The shared retry policy: retries only the named error, as many times as asked, then re-raises it."""

import pytest

from orchestration.extract.retries import with_retries


def test_retries_the_named_error_until_it_succeeds():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise TimeoutError("again")
        return "done"

    assert with_retries(flaky, on=TimeoutError, attempts=3, max_wait=0.01) == "done"
    assert len(calls) == 3


def test_gives_up_after_the_attempts_and_reraises_the_last_error():
    calls = []

    def broken():
        calls.append(1)
        raise TimeoutError(f"try {len(calls)}")

    with pytest.raises(TimeoutError, match="try 2"):
        with_retries(broken, on=TimeoutError, attempts=2, max_wait=0.01)


def test_other_errors_are_not_retried():
    calls = []

    def wrong():
        calls.append(1)
        raise ValueError("not transient")

    with pytest.raises(ValueError):
        with_retries(wrong, on=TimeoutError, attempts=5, max_wait=0.01)
    assert len(calls) == 1
