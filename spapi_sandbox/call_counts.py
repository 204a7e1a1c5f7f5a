"""How many SP-API calls the sandbox answered, per seller and operation, and how: admitted, throttled, faulted.

Amazon meters each seller's calls against the operation's usage plan; these counts are what it would have
metered. Benchmarks read them through ``GET /_sandbox/calls`` to compute the floor the published rate limits
allow for the calls a run really made (benchmarks/bench_extraction_rate_limits.py). Counts only grow; a
reader who wants one run's calls uses fresh sellers or the difference of two readings.
"""

from __future__ import annotations

import threading
from collections import Counter

# admitted: passed the gate and used a token of the seller's bucket; throttled: answered 429 by the bucket;
# faulted: answered by an injected fault before the bucket was asked.
OUTCOMES = ("admitted", "throttled", "faulted")


class CallCounts:
    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._lock = threading.Lock()

    def record(self, seller_id: str, operation: str, outcome: str) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        with self._lock:
            self._counts[(seller_id, operation, outcome)] += 1

    def rows(self, seller_id: str | None = None) -> list[dict]:
        """One row per (seller, operation) seen, with a count per outcome; sorted for stable answers."""
        with self._lock:
            counts = dict(self._counts)
        pairs = sorted({(s, op) for s, op, _ in counts if seller_id in (None, s)})
        return [
            {"seller_id": s, "operation": op, **{outcome: counts.get((s, op, outcome), 0) for outcome in OUTCOMES}}
            for s, op in pairs
        ]
