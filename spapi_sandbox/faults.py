"""Faults injected on demand through the admin API: per seller or global, by probability or by script.

A fault never changes the world (the truth API): it only changes how an answer reaches the client, so a
correct client that retries, re-requests or parses defensively ends up with exactly the truth. Each fault
fires on matching events either with a ``probability`` (from a seeded stream, so runs repeat) or by a
``script`` (a list of booleans consumed one per matching event; ``count: n`` is ``[true] * n``).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

from .errors import QUOTA_EXCEEDED_BODY
from .world.rng import stream

# Where each kind acts: "api" before an operation runs, "report" when a report finishes (kept with the
# document, so every download of it is the same), "download" on each document download.
KINDS: dict[str, str] = {
    "http_500": "api",
    "http_503": "api",
    "throttle": "api",  # a 429 storm: QuotaExceeded whatever the bucket holds
    "fatal_report": "report",
    "extra_column": "report",
    "reordered_columns": "report",
    "missing_column": "report",
    "malformed_rows": "report",
    "duplicate_rows": "report",
    "cp1252": "report",
    "truncated_gzip": "download",
    "slow_download": "download",
    "expired_url": "document_url",
}


@dataclass
class Fault:
    fault_id: str
    kind: str
    seller_id: str | None = None
    operations: list[str] | None = None
    report_types: list[str] | None = None
    probability: float = 1.0
    script: list[bool] | None = None
    fired: int = 0
    _rng: object = field(default=None, repr=False)

    @property
    def status(self) -> int:
        return {"http_500": 500, "http_503": 503, "throttle": 429}[self.kind]

    def body(self) -> dict:
        if self.kind == "throttle":
            return QUOTA_EXCEEDED_BODY
        if self.kind == "http_503":
            return {
                "errors": [
                    {
                        "code": "ServiceUnavailable",
                        "message": "Service temporarily unavailable.",
                        "details": "",
                    }
                ]
            }
        return {
            "errors": [
                {
                    "code": "InternalFailure",
                    "message": "We encountered an internal error. Please try again.",
                    "details": "",
                }
            ]
        }

    def to_dict(self) -> dict:
        return {
            "fault_id": self.fault_id,
            "kind": self.kind,
            "seller_id": self.seller_id,
            "operations": self.operations,
            "report_types": self.report_types,
            "probability": self.probability,
            "script": self.script,
            "fired": self.fired,
        }

    def _matches(self, seller_id: str, operation: str | None, report_type: str | None) -> bool:
        return (
            (self.seller_id is None or self.seller_id == seller_id)
            and (self.operations is None or operation in self.operations)
            and (self.report_types is None or report_type in self.report_types)
        )

    def _fires(self) -> bool:
        if self.script is not None:
            if not self.script:
                return False
            return self.script.pop(0)
        return self._rng.random() < self.probability


class FaultInputError(ValueError):
    """A fault specification the sandbox cannot apply."""


class Faults:
    def __init__(self, seed: int):
        self.seed = seed
        self._faults: dict[str, Fault] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, spec: dict) -> Fault:
        kind = spec.get("kind")
        if kind not in KINDS:
            raise FaultInputError(f"unknown fault kind {kind!r}; known: {sorted(KINDS)}")
        script = spec.get("script")
        if spec.get("count") is not None:
            script = [True] * int(spec["count"])
        if script is not None and not all(isinstance(x, bool) for x in script):
            raise FaultInputError("script must be a list of booleans")
        probability = float(spec.get("probability", 1.0))
        if not 0.0 <= probability <= 1.0:
            raise FaultInputError("probability must be within [0, 1]")
        with self._lock:
            fault_id = f"fault-{next(self._ids)}"
            fault = Fault(
                fault_id=fault_id,
                kind=kind,
                seller_id=spec.get("seller_id"),
                operations=spec.get("operations"),
                report_types=spec.get("report_types"),
                probability=probability,
                script=list(script) if script is not None else None,
                _rng=stream(self.seed, "fault", fault_id),
            )
            self._faults[fault_id] = fault
            return fault

    def list(self) -> list[dict]:
        with self._lock:
            return [f.to_dict() for f in self._faults.values()]

    def remove(self, fault_id: str | None = None) -> int:
        with self._lock:
            if fault_id is None:
                n = len(self._faults)
                self._faults.clear()
                return n
            return 1 if self._faults.pop(fault_id, None) else 0

    def _firing(
        self, where: str, seller_id: str, operation: str | None = None, report_type: str | None = None
    ) -> list[Fault]:
        with self._lock:
            out = []
            for f in self._faults.values():
                if KINDS[f.kind] == where and f._matches(seller_id, operation, report_type) and f._fires():
                    f.fired += 1
                    out.append(f)
            return out

    def api_fault(self, seller_id: str, operation: str) -> Fault | None:
        """The first API fault that fires for this call, if any."""
        firing = self._firing("api", seller_id, operation=operation)
        return firing[0] if firing else None

    def report_faults(self, seller_id: str, report_type: str) -> list[str]:
        """Kinds to bake into a report as it finishes (FATAL outcome or document content faults)."""
        return [f.kind for f in self._firing("report", seller_id, report_type=report_type)]

    def download_faults(self, seller_id: str, report_type: str) -> list[str]:
        return [f.kind for f in self._firing("download", seller_id, report_type=report_type)]

    def expired_url(self, seller_id: str, report_type: str) -> bool:
        return bool(self._firing("document_url", seller_id, report_type=report_type))
