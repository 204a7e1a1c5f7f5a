"""The shape every benchmark writes to benchmarks/results/<name>.json, and helpers to time things.

Each benchmark measures our code and a baseline side by side, several runs, and reports medians and
ratios; speed targets live here, never in unit tests.
"""

from __future__ import annotations

import json
import platform
import statistics
import subprocess  # noqa: S404 - asks git which code was measured
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Measurement:
    label: str
    samples: list[float]
    unit: str = "s"

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


@dataclass
class Ratio:
    label: str
    value: float
    target: str  # e.g. "<= 2.0"
    met: bool | None  # None when there is no target


@dataclass
class BenchResult:
    name: str
    title: str
    command: str
    measurements: list[Measurement]
    ratios: list[Ratio]
    notes: str = ""
    parameters: dict = field(default_factory=dict)

    def write(self) -> Path:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{self.name}.json"
        payload = asdict(self)
        for measurement, raw in zip(self.measurements, payload["measurements"], strict=True):
            raw["median"] = measurement.median
        payload["machine"] = {"python": platform.python_version(), "machine": platform.machine(),
                              "processor_count": __import__("os").cpu_count()}
        payload["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        payload["commit"] = measured_commit()
        path.write_text(json.dumps(payload, indent=2))
        return path


def measured_commit() -> str:
    """The commit whose code was measured, marked `+uncommitted changes` when tracked files differ from it."""
    root = RESULTS_DIR.parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,  # noqa: S607
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,  # noqa: S607
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{head}+uncommitted changes" if dirty else head


def time_runs(fn: Callable[[], object], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def ratio(label: str, ours: float, baseline: float, target_max: float | None = None,
          target_min: float | None = None) -> Ratio:
    value = ours / baseline if baseline else float("inf")
    if target_max is not None:
        return Ratio(label, value, f"<= {target_max}", value <= target_max)
    if target_min is not None:
        return Ratio(label, value, f">= {target_min}", value >= target_min)
    return Ratio(label, value, "-", None)
