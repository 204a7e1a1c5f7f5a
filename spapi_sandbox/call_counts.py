"""How many SP-API calls the sandbox answered, and how (admitted, throttled, faulted): per seller and operation, per
application and operation, per application and report type (createReport), and as a timestamped log.

Amazon meters each seller's calls against the operation's usage plan, and a few limits per application across
all of its sellers; these counts are what it would have metered. Benchmarks and tests read them through
``GET /_sandbox/calls`` to compute the floor the published limits allow for the calls a run really made
(benchmarks/bench_extraction_rate_limits.py), or to check that no call went over a limit (the log's timestamps).
Counts only grow; a reader who wants one run's calls uses fresh sellers or the difference of two readings.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque

# admitted: passed the gate and used a token of the seller's bucket (and the application's cap, if one counts it);
# throttled: answered 429 by a bucket or an application cap; faulted: answered by an injected fault before the
# bucket was asked.
OUTCOMES = ("admitted", "throttled", "faulted")
LOG_LENGTH = 200_000  # the newest calls kept in the log (a long run's oldest fall off; the counts stay whole)


class CallCounts:
    def __init__(self) -> None:
        self._sellers: Counter[tuple[str, str, str]] = Counter()
        self._applications: Counter[tuple[str, str, str]] = Counter()
        self._report_types: Counter[tuple[str, str, str, str]] = Counter()
        self._log: deque[dict] = deque(maxlen=LOG_LENGTH)
        self._lock = threading.Lock()

    def record(self, seller_id: str, operation: str, outcome: str, client_id: str = "") -> dict:
        """Count one answer; returns its log entry (the route may add the report type, or refuse it later)."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        entry = {"at": time.time(), "seller_id": seller_id, "client_id": client_id, "operation": operation,
                 "report_type": None, "outcome": outcome}
        with self._lock:
            self._sellers[(seller_id, operation, outcome)] += 1
            self._applications[(client_id, operation, outcome)] += 1
            self._log.append(entry)
        return entry

    def note_report_type(self, entry: dict, report_type: str) -> None:
        with self._lock:
            entry["report_type"] = report_type
            self._report_types[(entry["client_id"], entry["operation"], report_type, entry["outcome"])] += 1

    def refuse(self, entry: dict, limit: str) -> None:
        """An admitted call that a later check (an application cap) refused with 429 after all."""
        with self._lock:
            if entry["outcome"] != "admitted":
                raise ValueError("only an admitted call can be refused")
            seller, client, operation, report_type = (
                entry["seller_id"], entry["client_id"], entry["operation"], entry["report_type"])
            for counter, key in ((self._sellers, (seller, operation)), (self._applications, (client, operation))):
                counter[(*key, "admitted")] -= 1
                counter[(*key, "throttled")] += 1
            if report_type is not None:
                self._report_types[(client, operation, report_type, "admitted")] -= 1
                self._report_types[(client, operation, report_type, "throttled")] += 1
            entry["outcome"], entry["limit"] = "throttled", limit

    def rows(self, seller_id: str | None = None) -> list[dict]:
        """One row per (seller, operation) seen, with a count per outcome; sorted for stable answers."""
        with self._lock:
            counts = dict(self._sellers)
        pairs = sorted({(s, op) for s, op, _ in counts if seller_id in (None, s)})
        return [
            {"seller_id": s, "operation": op, **{outcome: counts.get((s, op, outcome), 0) for outcome in OUTCOMES}}
            for s, op in pairs
        ]

    def application_rows(self) -> list[dict]:
        """One row per (application, operation): every seller's calls under that LWA client id together."""
        with self._lock:
            counts = dict(self._applications)
        pairs = sorted({(c, op) for c, op, _ in counts})
        return [
            {"client_id": c, "operation": op, **{outcome: counts.get((c, op, outcome), 0) for outcome in OUTCOMES}}
            for c, op in pairs
        ]

    def report_type_rows(self) -> list[dict]:
        """One row per (application, operation, report type) of the calls that name a report type (createReport)."""
        with self._lock:
            counts = dict(self._report_types)
        keys = sorted({(c, op, rt) for c, op, rt, _ in counts})
        return [
            {"client_id": c, "operation": op, "report_type": rt,
             **{outcome: counts.get((c, op, rt, outcome), 0) for outcome in OUTCOMES}}
            for c, op, rt in keys
        ]

    def log(self, seller_id: str | None = None) -> list[dict]:
        """The newest calls in the order they were answered; `at` is the sandbox host's epoch time, in seconds."""
        with self._lock:
            return [dict(e) for e in self._log if seller_id in (None, e["seller_id"])]
