"""Per-tenant overhead of a daily refresh (extraction + dbt) for many tenants: one process for all of them, as the
product runs it, against one process per tenant with a `dbt build` CLI process per tenant.

Ours: one process runs `orchestration.refresh.refresh` (what `retkee refresh` calls) over every tenant: per
tenant, two extraction runs (the daily tables over the days asked, then today's snapshots; each one step that
fetches its tables side by side and validates each as it is loaded, in one great-expectations run) and the
`build_marts` run, all executed in that process, dbt through the shared in-process runner that parses the project
once (orchestration/transform/tenant_runner.py).
Baseline: per tenant, a fresh process runs the same `refresh` for that tenant alone (so it pays interpreter
start-up, the code location's import and Dagster's set-up every time, as a run launcher starting one process per
run would), with dbt as one `dbt build` CLI process per tenant in place of the shared runner; the product's own
marts asset still prepares the tenant and turns dbt's results into Dagster events, so only the process layout
differs.

Overhead = wall time - work, where work is the wall time during which an `ingest_window` call runs (the SP-API
calls, including the sandbox's report processing, landing and loading; overlapping calls count once) plus dbt's own
execution phase (its run `elapsed_time`). Everything else is overhead: process start-up and imports, Dagster
run/step machinery and event storage, opening sessions and connections (Vault, PostgreSQL), the data-quality checks
(with their one-time imports), dbt's parse and adapter set-up, turning dbt results into Dagster events.

    .venv/bin/python -m benchmarks.bench_orchestration [--sizes 1 10] [--naive-sample 2] [--runs 1]
        [--time-scale 0.01]

Sizes are prefixes of one refresh over max(sizes) tenants: refresh takes tenants one after another, so its first k
tenants are a k-tenant refresh (started by the same process). The baseline's per-tenant cost does not depend on
the number of tenants, so with `--naive-sample K` sizes above K time it on K tenants and scale it, and say so.
The sandbox runs at --time-scale (0.01: report processing 0.3 s, buckets refilled 100x faster), so no call waits
for a rate limit. 100 tenants take about an hour on 2 cores (`--sizes 1 10 100 --naive-sample 5`); the default
stays under ~10 minutes. Writes benchmarks/results/orchestration.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess  # noqa: S404 - runs this module as the worker processes, and dbt
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.results_format import BenchResult, Measurement, ratio  # noqa: E402
from benchmarks.stack import last_days, onboard, seller_in, throwaway_stack  # noqa: E402

# -- the worker processes: ours (all tenants) and the baseline (one tenant) ----------------------------------


class WorkClock:
    """Time inside the work itself, in this process: `ingest_window` and dbt's execution phase.

    A tenant's extraction runs its pieces side by side (defs/extraction.py), so ingest time is the wall time
    during which at least one `ingest_window` call is running (the union of the calls' intervals), never
    the sum of overlapping calls: overhead = wall - work can only hide what overlaps real work."""

    def __init__(self) -> None:
        self.ingest = 0.0
        self.dbt = 0.0
        self._lock = threading.Lock()
        self._running = 0
        self._since = 0.0

    def _enter(self) -> None:
        with self._lock:
            if self._running == 0:
                self._since = time.perf_counter()
            self._running += 1

    def _leave(self) -> None:
        with self._lock:
            self._running -= 1
            if self._running == 0:
                self.ingest += time.perf_counter() - self._since

    def install(self, runner_factory) -> None:
        """Time every `ingest_window` call of the extraction assets, and have the marts asset build through
        `runner_factory()`'s runner, adding up its builds' execution phase."""
        from orchestration.defs import extraction, marts

        ingest_window = extraction.ingest_window
        clock = self

        def timed_ingest(*args, **kwargs):
            clock._enter()
            try:
                return ingest_window(*args, **kwargs)
            finally:
                clock._leave()

        class TimedRunner:
            def __init__(self, runner) -> None:
                self._runner = runner

            def build(self, *args, **kwargs):
                build = self._runner.build(*args, **kwargs)
                clock.dbt += build.run_seconds
                return build

        runners: list[TimedRunner] = []

        def timed_runner():
            if not runners:
                runners.append(TimedRunner(runner_factory()))
            return runners[0]

        extraction.ingest_window = timed_ingest
        marts.shared_runner = timed_runner


class DbtCliPerTenant:
    """The baseline's dbt: a `dbt build` CLI process per tenant (start-up, imports and a full parse each time),
    answering like the shared runner so the marts asset is unchanged."""

    def __init__(self, scratch: Path) -> None:
        self._scratch = scratch  # the parent's scratch directory, removed with it

    def build(self, tenant_id: str, environment, *, select=(), full_refresh: bool = False, command: str = "build",
              dbt_vars=None, on_node=None):
        """`on_node` is never called: a CLI's results arrive after it exits, so every event waits for the end,
        as before events streamed."""
        from orchestration.transform.dbt_project import DBT_PROJECT_DIR
        from orchestration.transform.tenant_runner import NodeOutcome, TenantBuild

        target = self._scratch / tenant_id
        argv = [str(Path(sys.executable).with_name("dbt")), command, "--quiet",
                "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
                "--target-path", str(target), "--log-path", str(target / "logs")]
        argv += ["--select", *select] if select else []
        argv += ["--full-refresh"] if full_refresh else []
        argv += ["--vars", json.dumps(dict(dbt_vars))] if dbt_vars else []  # the tenant's settings, as ours passes
        started = time.perf_counter()
        done = subprocess.run(argv, env={**os.environ, **environment, "RETKEE_TENANT_ID": tenant_id},  # noqa: S603
                              capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        results_file = target / "run_results.json"
        results = json.loads(results_file.read_text()) if results_file.exists() else {"results": []}
        outcomes = [
            NodeOutcome(unique_id=r["unique_id"], resource_type=r["unique_id"].split(".")[0],
                        status=str(r["status"]).lower(), message=r.get("message"), failures=r.get("failures"),
                        execution_time=float(r.get("execution_time") or 0.0),
                        rows_affected=(r.get("adapter_response") or {}).get("rows_affected"))
            for r in results["results"]
        ]
        error = None if done.returncode == 0 else (done.stdout + done.stderr)[-2000:]
        return TenantBuild(tenant_id=tenant_id, success=done.returncode == 0, elapsed=elapsed, outcomes=outcomes,
                           error=error, run_seconds=float(results.get("elapsed_time") or 0.0))


def worker(kind: str, tenant_ids: list[str], days: int, out: Path) -> int:
    """Refresh `tenant_ids` in this process and write when each tenant was done, with the work so far."""
    from orchestration.refresh import refresh
    from orchestration.transform.tenant_runner import shared_runner

    clock = WorkClock()
    clock.install(shared_runner if kind == "ours" else lambda: DbtCliPerTenant(out.parent / "dbt"))
    done: list[dict] = []

    def progress(message: str) -> None:
        if message.rstrip().endswith(" marts"):
            done.append({"at": time.time(), "ingest": clock.ingest, "dbt": clock.dbt})

    started = time.time()
    report = refresh(tenant_ids, last_days(days), progress=progress, snapshots=True)
    out.write_text(json.dumps({"done": done, "failed": report.failed, "retried": steps_retried(started)}))
    return 0


def steps_retried(since: float) -> list[str]:
    """Why any step of this process's runs was retried (the workers run one after another, so a time bound
    finds them). Dagster's RetryPolicy waits a minute or more first: a retry inflates the figures, so the
    benchmark says so instead of hiding it in a tenant's overhead."""
    from dagster import DagsterEventType, DagsterInstance, EventRecordsFilter

    with DagsterInstance.get() as instance:
        records = instance.get_event_records(EventRecordsFilter(event_type=DagsterEventType.STEP_UP_FOR_RETRY,
                                                                     after_timestamp=since))
        return [f"{r.event_log_entry.step_key}: {_retry_reason(r.event_log_entry)}" for r in records]


def _retry_reason(entry) -> str:
    error = getattr(entry.dagster_event.event_specific_data, "error", None)
    return " ".join((error.message if error else entry.message or "").split())[:300]


def run_worker(kind: str, tenant_ids: list[str], days: int, scratch: Path) -> dict:
    out = scratch / f"{kind}-{tenant_ids[0]}.json"
    started = time.time()
    subprocess.run(  # noqa: S603 - this module, fixed arguments
        [sys.executable, "-m", "benchmarks.bench_orchestration", "--worker", kind, "--days", str(days),
         "--out", str(out), *tenant_ids],
        cwd=REPO, env=dict(os.environ), check=True,
    )
    ended = time.time()
    answer = json.loads(out.read_text())
    for reason in answer.get("retried", []):
        print(f"{kind}: a step was retried, so this measurement includes Dagster's retry delay: {reason}", flush=True)
    if answer["failed"]:
        raise RuntimeError(f"{kind} refresh failed: {answer['failed']}")
    return {"started": started, "ended": ended, "done": answer["done"]}


# -- the measurement ---------------------------------------------------------------------------------------


def prefix(run: dict, k: int) -> dict:
    """Wall time and work of the first k tenants of one ours-refresh."""
    point = run["done"][k - 1]
    return {"wall": point["at"] - run["started"], "work": point["ingest"] + point["dbt"],
            "ingest": point["ingest"], "dbt": point["dbt"]}


def per_tenant_process(runs: list[dict]) -> list[dict]:
    """Wall time and work of each baseline tenant (its own process, from start to exit)."""
    return [{"wall": r["ended"] - r["started"], "work": r["done"][-1]["ingest"] + r["done"][-1]["dbt"],
             "ingest": r["done"][-1]["ingest"], "dbt": r["done"][-1]["dbt"]} for r in runs]


def measure_once(config, args, index: int, scratch: Path) -> dict:
    largest = max(args.sizes)
    naive_count = min(largest, args.naive_sample) if args.naive_sample else largest
    ours_tenants = onboard(config, [seller_in(1, f"OR{index + 1}O{n}") for n in range(largest)])
    naive_tenants = onboard(config, [seller_in(1, f"OR{index + 1}N{n}") for n in range(naive_count)])

    ours = run_worker("ours", ours_tenants, args.days, scratch)
    print(f"ours: {largest} tenants in {ours['done'][-1]['at'] - ours['started']:.1f} s", flush=True)
    naive = []
    for tenant_id in naive_tenants:
        naive.append(run_worker("baseline", [tenant_id], args.days, scratch))
        print(f"baseline: tenant {len(naive)}/{naive_count} in {naive[-1]['ended'] - naive[-1]['started']:.1f} s",
              flush=True)
    naive_each = per_tenant_process(naive)

    rows = {}
    for size in args.sizes:
        mine = prefix(ours, size)
        sampled = size > len(naive_each)
        chosen = naive_each if sampled else naive_each[:size]
        scale = size / len(chosen)
        theirs = {key: sum(t[key] for t in chosen) * scale for key in ("wall", "work", "ingest", "dbt")}
        rows[size] = {"ours": mine, "naive": theirs, "naive_tenants_timed": len(chosen), "sampled": sampled}
        print(f"{size:4d} tenants: overhead/tenant ours {(mine['wall'] - mine['work']) / size:.2f} s, "
              f"baseline {(theirs['wall'] - theirs['work']) / size:.2f} s"
              f"{' (sampled)' if sampled else ''}", flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--naive-sample", type=int, default=2,
                        help="time the baseline on at most K tenants and scale it (0: on every tenant)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--days", type=int, default=1, help="days ending yesterday; today's snapshots are added")
    parser.add_argument("--time-scale", type=float, default=0.01)
    parser.add_argument("--worker", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("tenants", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.tenants, args.days, args.out)

    samples = []
    with throwaway_stack("retkee-bench-orchestration-", time_scale=args.time_scale) as config, \
            tempfile.TemporaryDirectory(prefix="retkee-bench-orchestration-out-") as scratch:
        for index in range(args.runs):
            samples.append(measure_once(config, args, index, Path(scratch)))
    write_result(args, samples)
    return 0


def write_result(args, samples: list[dict]) -> None:
    measurements, ratios, details = [], [], {}

    def per_tenant(size: int, side: str, what: str) -> list[float]:
        values = [s[size][side] for s in samples]
        if what == "overhead":
            return [(v["wall"] - v["work"]) / size for v in values]
        return [v[what] / size for v in values]

    for size in args.sizes:
        sampled = any(s[size]["sampled"] for s in samples)
        timed = samples[-1][size]["naive_tenants_timed"]
        note = f" ({timed} timed)" if sampled else ""
        tenants = f"{size} tenant{'s' if size > 1 else ''}"
        ours_overhead, naive_overhead = per_tenant(size, "ours", "overhead"), per_tenant(size, "naive", "overhead")
        ours_wall, naive_wall = per_tenant(size, "ours", "wall"), per_tenant(size, "naive", "wall")
        measurements += [
            Measurement(f"{tenants}: ours, overhead/tenant", ours_overhead),
            Measurement(f"{tenants}: baseline, overhead/tenant{note}", naive_overhead),
            Measurement(f"{tenants}: ours, wall/tenant", ours_wall),
            Measurement(f"{tenants}: baseline, wall/tenant{note}", naive_wall),
        ]
        at_largest = size == max(args.sizes)  # the targets (issue #15: at 100 tenants) are judged at the largest size
        ratios += [
            ratio(f"{tenants}: baseline / ours, overhead per tenant{note}", statistics.median(naive_overhead),
                  statistics.median(ours_overhead), target_min=TARGET_SPEED_UP if at_largest else None),
            ratio(f"{tenants}: baseline / ours, wall time per tenant{note}", statistics.median(naive_wall),
                  statistics.median(ours_wall)),
        ]
        if at_largest:
            ratios.append(ratio(f"{tenants}: ours, overhead per tenant / {TARGET_OVERHEAD_S:g} s",
                                statistics.median(ours_overhead), TARGET_OVERHEAD_S, target_max=1.0))
        details[size] = {
            side: {f"{what}_per_tenant_s": round(statistics.median(per_tenant(size, side, what)), 3)
                   for what in ("ingest", "dbt")}
            for side in ("ours", "naive")
        } | {"baseline_sampled": sampled, "baseline_tenants_timed": timed}
    result = BenchResult(
        name="orchestration",
        title="Daily refresh: overhead per tenant vs a process per tenant",
        command="make bench BENCH=orchestration  (python -m benchmarks.bench_orchestration --sizes "
                f"{' '.join(map(str, args.sizes))} --naive-sample {args.naive_sample} --runs {args.runs} "
                f"--days {args.days} --time-scale {args.time_scale})",
        measurements=measurements,
        ratios=ratios,
        parameters={"sizes": args.sizes, "naive_sample": args.naive_sample, "runs": args.runs,
                    "days": f"{args.days} (ending yesterday) + today's snapshots", "time_scale": args.time_scale,
                    "work_per_tenant": details},
        notes=NOTES.format(scale=args.time_scale, inverse=round(1 / args.time_scale)),
    )
    print(f"wrote {result.write()}")


TARGET_SPEED_UP = 10  # at least 10x less overhead per tenant than the baseline
TARGET_OVERHEAD_S = 1.0  # under a second of overhead per tenant

NOTES = """\
Overhead = wall time - work; work = wall time during which an ingest_window call runs (SP-API calls including \
the sandbox's report processing, landing, loading; a tenant's tables are fetched side by side and overlapping \
calls count once) + dbt's execution phase (run elapsed_time); wall time per tenant is shown beside it. "(K \
timed)": the baseline was timed on K tenants and scaled to the size. Ours: one process running \
orchestration.refresh.refresh over all tenants (per tenant two extraction runs of one step each, the daily \
tables then today's snapshots, and the marts run; Dagster runs in process, dbt through the shared in-process \
runner, parsed once); its k-tenant figures are the first k tenants of one refresh, from process start. Baseline: \
one process per tenant (a Dagster process started per tenant) running the same refresh for that tenant alone, \
with dbt as a `dbt build` CLI process (the marts asset, its preparation and its Dagster events unchanged). \
Overhead therefore holds process start-up and imports, Dagster's run and step machinery and event storage, \
sessions and connections, the data-quality checks (one great-expectations run per tenant), dbt's parse and \
set-up, and turning dbt results into Dagster events. The sandbox runs at time-scale {scale} ({inverse}x faster \
than Amazon), so no call waits for a rate limit. Every measurement is one refresh per run (median over runs). \
The targets are issue #15's, stated for 100 tenants and judged here at the largest size run (`make bench` runs \
10 to stay within minutes). Where ours still spends it (an instrumented timeline of a steady-state tenant, 5 \
tenants, a one-day refresh, at 3e9135c): the marts run's start, about 0.3 s to dbt's start (creating the run and \
its ~93 planned events, the step's start with Dagster's look-up of the raw tables' data versions, a Vault login, \
a warehouse connection, the tenant's record, the tenant's sources prepared); each extraction run's start, \
0.1-0.16 s (its planned events, session and six warehouse connections before the first call); the end of each \
run, 0.1-0.2 s (the checks and materializations, the run's end); the P&L waterfall drawn for the mart's \
materialization, about 0.1 s; great-expectations finishing the tables loaded last, now 0.06-0.07 s per run \
(about 0.04-0.06 s of CPU a table, orchestration/quality/gx_less_work.py); and about 330 event writes across the \
three runs. Already cut: one extraction step per tenant and run; great-expectations' repeated work per table \
(gx_less_work.py, about 0.6x its CPU); full garbage collections over what lives as long as the process \
(gc.freeze in refresh); dbt events written while dbt builds; the all-tenant retention-cap checks left out of \
each tenant's runs (they made a refresh quadratic in tenants); dbt test verdicts given to Dagster as \
evaluations, with no look-up of the model's latest materialization per test; the storage's catalogue and \
partition questions asked once; events written without a NOTIFY each, and a run's planned events in bulk \
(orchestration/instance_storage.py). Batching tenants into one run would save only the run machinery: Dagster's \
multi-partition ranges are rectangles, and the tenant tag that bounds concurrency, stops a revoked tenant's runs \
and names the access log holds one tenant.\
"""


if __name__ == "__main__":
    raise SystemExit(main())
