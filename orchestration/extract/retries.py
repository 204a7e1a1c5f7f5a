"""One retry policy for every SP-API step: jittered exponential backoff on the errors worth another try."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

T = TypeVar("T")


def with_retries(
    fn: Callable[[], T], *, on: type[BaseException], attempts: int, max_wait: float
) -> T:
    """Call `fn`; on `on`, wait (0.5 s doubling, jittered, at most `max_wait`) and call again, `attempts` times
    in all, then re-raise the last error."""
    return Retrying(
        retry=retry_if_exception_type(on),
        wait=wait_random_exponential(multiplier=0.5, max=max_wait),
        stop=stop_after_attempt(attempts),
        reraise=True,
    )(fn)
