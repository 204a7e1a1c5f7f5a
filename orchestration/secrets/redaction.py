"""Keeps secret values out of logs, exceptions and Dagster metadata.

A `Secret` hides its value in repr/str; the logging filter scrubs any registered secret value that
still slips into a log record (a library logging a request body, say).
"""

from __future__ import annotations

import logging
import threading

_REDACTED = "***redacted***"
_known: set[str] = set()
_lock = threading.Lock()


class Secret:
    """A secret string that never prints itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise ValueError("a secret must be a non-empty string")
        self._value = value
        remember(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self):  # never pickled into Dagster's event storage
        raise TypeError("Secret values cannot be serialized")


def remember(value: str) -> None:
    """Register a secret value so `scrub` and the log filter can remove it."""
    if value and len(value) >= 8:
        with _lock:
            _known.add(value)


def scrub(text: str) -> str:
    """Replace every registered secret value in `text`."""
    with _lock:
        values = sorted(_known, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, _REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs registered secrets from every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


_factory_installed = False


def _install_scrubbing_record_factory() -> None:
    """Scrub every log record as it is made, whichever logger or handler it goes to next.

    Dagster's `context.log` writes records straight into its event storage through its own handler, which no
    filter on the root logger sees; a record factory is the one hook every `logging` record passes through.
    """
    global _factory_installed
    with _lock:
        if _factory_installed:
            return
        _factory_installed = True
    make_record = logging.getLogRecordFactory()

    def scrubbing_factory(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: S110 - a malformed record is logging's problem to report, not ours
            return record
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return record

    logging.setLogRecordFactory(scrubbing_factory)


def install_log_redaction() -> None:
    """Scrub every log record (Dagster's event log included) and quiet libraries that log request headers."""
    _install_scrubbing_record_factory()
    redacting = RedactingFilter()
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(redacting)
    # python-amazon-sp-api logs request headers (the access token) at DEBUG; hvac/httpx/urllib3 log URLs.
    for name in ("sp_api", "httpx", "httpcore", "urllib3", "hvac"):
        logging.getLogger(name).setLevel(logging.WARNING)
        logging.getLogger(name).addFilter(redacting)
