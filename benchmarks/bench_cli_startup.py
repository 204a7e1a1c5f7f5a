"""How long `retkee` takes to answer: `retkee --help` and `retkee tenants list`, ours beside a baseline commit.

The baseline is the code before #14's lazy start-up (every command imported Dagster, dbt and great-expectations
up front, through the code location's resources), checked out as a git worktree under benchmarks/.work/ and run
with the same interpreter and environment. `tenants list` runs against a throw-away stack (PostgreSQL and
OpenBao, no tenant yet): start-up, a Vault login, a TLS connection, one query. Each sample is a fresh process, the
two sides alternating. Target: both commands answer in under 1 s. The libraries are installed with their bytecode
(`make env`: uv sync --compile-bytecode) and each side's own modules are compiled by the warm-up run, as after a
user's first command.

    .venv/bin/python -m benchmarks.bench_cli_startup [--runs 7] [--baseline 1376f26]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess  # noqa: S404 - runs our own command line and git
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.results_format import BenchResult, Measurement, ratio  # noqa: E402
from benchmarks.stack import throwaway_stack  # noqa: E402

WORK = REPO / "benchmarks" / ".work"
# The last commit before #14's start-up work: `retkee --help` took about 3 s there.
BASELINE = "1376f26"
COMMANDS = {"--help": ["--help"], "tenants list": ["tenants", "list"]}
BUDGET_SECONDS = 1.0


def checkout(commit: str) -> Path:
    """The baseline's source tree (a detached git worktree, made once)."""
    tree = WORK / f"baseline-{commit}"
    if not tree.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), commit], cwd=REPO, check=True,  # noqa: S607
                       capture_output=True)
    return tree


def answer_seconds(tree: Path, argv: list[str]) -> tuple[float, float]:
    """One fresh `retkee` process of the code in `tree`: (wall seconds start to exit, CPU seconds it used). The
    CPU time is what the command costs on a quiet machine; the wall time also waits for other processes."""
    # Python may write bytecode (as on an operator's machine after the first run): with PYTHONDONTWRITEBYTECODE
    # every sample would compile the project's modules from source again, which no user sees twice.
    environment = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, "PYTHONPATH": str(tree)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", "from orchestration.cli import main; main()", *argv],  # noqa: S603
                          cwd=tree, env=environment, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"retkee {' '.join(argv)} failed in {tree}: {done.stderr.strip()[-500:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline", default=BASELINE)
    args = parser.parse_args()
    baseline = checkout(args.baseline)
    samples: dict[tuple[str, str], list[float]] = {(side, c): [] for side in ("baseline", "ours") for c in COMMANDS}
    cpu: dict[tuple[str, str], list[float]] = {key: [] for key in samples}
    try:
        with throwaway_stack("retkee-bench-cli-"):
            for name, argv in COMMANDS.items():
                for tree in (baseline, REPO):  # warm the file cache and the bytecode of both sides first
                    answer_seconds(tree, argv)
                for _ in range(args.runs):
                    for side, tree in (("baseline", baseline), ("ours", REPO)):
                        wall, used = answer_seconds(tree, argv)
                        samples[(side, name)].append(wall)
                        cpu[(side, name)].append(used)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(baseline)], cwd=REPO, check=False,  # noqa: S607
                       capture_output=True)
        shutil.rmtree(baseline, ignore_errors=True)
    measurements = [Measurement(f"{side}: retkee {name}", samples[(side, name)])
                    for name in COMMANDS for side in ("baseline", "ours")]
    measurements += [Measurement(f"{side}: retkee {name} (CPU time)", cpu[(side, name)])
                     for name in COMMANDS for side in ("baseline", "ours")]
    by_label = {m.label: m.median for m in measurements}
    ratios = []
    for name in COMMANDS:
        ours, before = by_label[f"ours: retkee {name}"], by_label[f"baseline: retkee {name}"]
        ratios.append(ratio(f"retkee {name}: ours / baseline", ours, before))
        ratios.append(ratio(f"retkee {name}: ours / {BUDGET_SECONDS:g} s budget", ours, BUDGET_SECONDS,
                            target_max=1.0))
        # The CPU the command itself uses: what it costs on a quiet machine, whatever else the machine is doing
        # (wall time on a loaded machine also counts the waits for the other processes).
        ratios.append(ratio(f"retkee {name}: ours (CPU time) / {BUDGET_SECONDS:g} s budget",
                            by_label[f"ours: retkee {name} (CPU time)"], BUDGET_SECONDS, target_max=1.0))
    BenchResult(
        name="cli_startup",
        title="retkee start-up: --help and tenants list",
        command=f"benchmarks/bench_cli_startup.py --runs {args.runs} --baseline {args.baseline}",
        measurements=measurements,
        ratios=ratios,
        notes=f"Baseline {args.baseline}: every command imported Dagster (and through it dbt and GX) via the code "
              "location's resources. Ours: the command line imports Typer, Rich, psycopg and our light modules; "
              "a command imports what it uses (tenants list: the Dagster-free session, Vault's client). Each "
              "sample is a fresh process; the two sides alternate on the same machine.",
        parameters={"runs": args.runs, "baseline": args.baseline},
    ).write()


if __name__ == "__main__":
    main()
