"""The server's settings, as given on the command line, and the time-scale arithmetic every part shares."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SandboxConfig:
    state_dir: Path
    client_id: str
    client_secret: str
    admin_token: str | None = None
    seed: int = 42
    # Multiplies every duration Amazon would take (token lifetime, report processing, URL lifetime, rate
    # refill intervals, nextToken lifetime): 1.0 is real time, 0.01 runs a hundred times faster.
    time_scale: float = 1.0
    # Amazon-seconds from createReport to DONE (before time-scale).
    report_processing_seconds: float = 30.0

    def real_seconds(self, amazon_seconds: float) -> float:
        """How long an Amazon duration lasts here, in real seconds."""
        return amazon_seconds * self.time_scale
