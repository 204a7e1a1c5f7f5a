"""`make bench`: runs every benchmarks/bench_*.py (each writes benchmarks/results/<name>.json), then the report."""

from __future__ import annotations

import subprocess  # noqa: S404 - runs our own benchmark scripts
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(selected: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if selected:
        scripts = [s for s in scripts if any(name in s.stem for name in selected)]
    failed = []
    for script in scripts:
        print(f"== {script.stem}", flush=True)
        module = f"benchmarks.{script.stem}"
        if subprocess.run([sys.executable, "-m", module], cwd=HERE.parent).returncode != 0:  # noqa: S603
            failed.append(script.stem)
    subprocess.run([sys.executable, "-m", "benchmarks.report"], cwd=HERE.parent, check=True)  # noqa: S603
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
