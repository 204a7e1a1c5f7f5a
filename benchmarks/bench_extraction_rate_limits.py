"""A multi-seller daily extraction against the time-scaled SP-API sandbox, beside the floor Amazon's rate limits allow.

Ours is `retkee refresh --no-marts` (orchestration/refresh.py, marts=False): one seller after another; each seller's
yesterday and today's snapshots through the Dagster job `extract_reports`, executed in process. The marts are left
out: this measures extraction. The default workload is a steady-state daily run, yesterday plus today's snapshots,
for three sellers in 1, 3 and 5 marketplaces: a seller in five marketplaces asks for 45 reports a day (nine report
types), three times the createReport burst, so its run is paced by the usage plans.

Floor: computed from the calls the sandbox admitted per (seller, operation) and per application
(`GET /_sandbox/calls?log=true`) and Amazon's published limits, see `seller_floor`, `application_floor` and the
notes in the result.

    .venv/bin/python -m benchmarks.bench_extraction_rate_limits [--marketplaces 1 3 5] [--days 1]
        [--time-scale 0.25 0.02] [--runs 3] [--no-snapshots] [--warmup]

It starts a throw-away stack (PostgreSQL, OpenBao, the sandbox at --time-scale, client buckets following through
RETKEE_SPAPI_RATE_SCALE and shared in the stack's PostgreSQL) in a temporary directory; each run onboards fresh
sellers, so every bucket starts full on both sides. Writes benchmarks/results/extraction_rate_limits.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.results_format import BenchResult, Measurement, ratio  # noqa: E402
from benchmarks.stack import PROFILE, last_days, onboard, seller_in, throwaway_stack  # noqa: E402
from local_stack import StackConfig  # noqa: E402
from local_stack.demo import admin_request  # noqa: E402
from spapi_sandbox.ratelimit import (  # noqa: E402 - Amazon's published limits, as the sandbox applies them
    APPLICATION_CAPS,
    USAGE_PLANS,
)

TARGET = 1.2  # ours may take at most this multiple of the floor


# -- where ours waits --------------------------------------------------------------------------------------


@dataclass
class WaitClock:
    """Where ours spends its wall time, with extractions running on several threads: every moment at which some
    thread is blocked in our quota buckets counts as bucket wait; of the rest, every moment at which some thread
    is collecting a report or a Data Kiosk query (Amazon's processing time, our polls, the download) counts as
    collecting; the remainder is everything else. So the three add up to the wall time."""

    intervals: list[tuple[float, float, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _timed(self, kind: str, fn):
        clock = self

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                with clock._lock:
                    clock.intervals.append((started, time.perf_counter(), kind))

        return timed

    def install(self) -> None:
        from orchestration.extract import ratelimit, reports

        ratelimit.Quotas.acquire = self._timed("bucket", ratelimit.Quotas.acquire)
        reports.ReportRequester.collect = self._timed("collecting", reports.ReportRequester.collect)
        try:  # Data Kiosk (sales and traffic by default): waiting for a query and its download are collecting too
            from orchestration.extract.data_kiosk import QueryRunner
        except ImportError:
            return
        QueryRunner._wait = self._timed("collecting", QueryRunner._wait)
        QueryRunner._download = self._timed("collecting", QueryRunner._download)

    def split(self, start: float, end: float) -> tuple[float, float]:
        """(bucket, collecting) wall seconds within [start, end], bucket first where both happen at once."""
        with self._lock:
            spans = [(max(a, start), min(b, end), k) for a, b, k in self.intervals if b > start and a < end]
        points = sorted({start, end, *(a for a, _, _ in spans), *(b for _, b, _ in spans)})
        bucket = collecting = 0.0
        for left, right in zip(points, points[1:], strict=False):
            kinds = {k for a, b, k in spans if a <= left and b >= right}
            if "bucket" in kinds:
                bucket += right - left
            elif "collecting" in kinds:
                collecting += right - left
        return bucket, collecting


# -- the floor ---------------------------------------------------------------------------------------------


# Operations whose answer Amazon then works on for `report_processing_seconds` before it can be collected.
CREATES = ("createReport", "createQuery")


def seller_floor(calls: list[dict], processing_seconds: float) -> dict:
    """The least time (Amazon-seconds) Amazon lets one seller's admitted calls take.

    Per operation with burst b and rate r, n calls span at least max(0, (n - b) / r): the bucket starts full and
    refills at r. The buckets refill side by side, so the seller's bound is the largest of them, not their sum.
    A report (or a Data Kiosk query) is processed for `processing_seconds` after its createReport (createQuery),
    side by side with the others: the last one created must still be processed, so that bucket's bound gets one
    processing time on top. Floor = the largest of these lower bounds.
    """
    admitted = {row["operation"]: row["admitted"] for row in calls}
    bounds = {op: max(0.0, (n - USAGE_PLANS[op].burst) / USAGE_PLANS[op].rate) for op, n in admitted.items()}
    for op in CREATES:
        if admitted.get(op):
            bounds[op] += processing_seconds
    binding = max(bounds, key=bounds.get)
    return {"amazon_seconds": bounds[binding], "binding": binding, "bounds": bounds}


def application_floor(log: list[dict]) -> dict:
    """The least time (Amazon-seconds) the application-wide caps let the run's capped calls take, all sellers
    together: n calls of a cap that admits one per s seconds span at least (n - 1) * s."""
    bounds = {}
    for (operation, report_type), cap in APPLICATION_CAPS.items():
        n = sum(1 for e in log if e["operation"] == operation and e["report_type"] == report_type
                and e["outcome"] == "admitted")
        if n:
            bounds[f"{report_type} application cap"] = (n - 1) * cap.every_seconds
    return bounds


# -- one run -----------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    wall: float
    seller_walls: list[float]
    seller_floors: list[float]  # real seconds at the sandbox's time scale
    application_floor: float  # real seconds the application-wide caps need for the run's capped calls
    bucket_wait: float
    collecting: float
    calls: list[dict] = field(default_factory=list)
    binding: list[str] = field(default_factory=list)


def run_once(config: StackConfig, args, clock: WaitClock, index: int) -> RunResult:
    from orchestration.refresh import refresh

    sellers = [seller_in(count, f"RL{index + 1}M{count}") for count in args.marketplaces]
    tenant_ids = onboard(config, sellers)
    days = last_days(args.days)
    walls, failed = [], []
    started = time.perf_counter()
    for tenant_id in tenant_ids:  # refresh takes them one after another too; one call each times each seller
        began = time.perf_counter()
        report = refresh([tenant_id], days, snapshots=args.snapshots, marts=False)
        failed += [f"{label}: {reason}" for label, reason in report.failed]
        walls.append(time.perf_counter() - began)
    ended = time.perf_counter()
    wall = ended - started
    if failed:
        raise RuntimeError(f"extraction runs failed: {', '.join(failed)}")
    bucket_wait, collecting = clock.split(started, ended)

    answer = admin_request(config, "GET", "/_sandbox/calls?log=true")
    scale, processing = answer["time_scale"], answer["report_processing_seconds"]
    floors, binding, calls = [], [], []
    for seller in sellers:
        rows = [row for row in answer["calls"] if row["seller_id"] == seller.seller_id]
        floor = seller_floor(rows, processing)
        floors.append(floor["amazon_seconds"] * scale)
        binding.append(floor["binding"])
        calls.append({row["operation"]: {k: row[k] for k in ("admitted", "throttled", "faulted")} for row in rows})
    ours = {seller.seller_id for seller in sellers}
    capped = application_floor([e for e in answer["log"] if e["seller_id"] in ours])
    return RunResult(wall, walls, floors, max(capped.values(), default=0.0) * scale, bucket_wait, collecting,
                     calls, binding)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--marketplaces", type=int, nargs="+", default=[1, 3, 5],
                        help="one seller per value, in that many marketplaces")
    parser.add_argument("--days", type=int, default=1, help="days ending yesterday, as `retkee refresh --days`")
    parser.add_argument("--time-scale", type=float, nargs="+", default=[0.25, 0.02],
                        help="the sandbox's clock (1.0 = Amazon's pace); one measured set per value")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--snapshots", action=argparse.BooleanOptionalAction, default=True,
                        help="also take today's snapshots, as `retkee refresh` does by default")
    parser.add_argument("--warmup", action=argparse.BooleanOptionalAction, default=False,
                        help="extract one seller first, uncounted, so one-time process costs stay out of run 1")
    args = parser.parse_args()

    sets: dict[float, list[RunResult]] = {}
    for scale in args.time_scale:
        runs = sets[scale] = []
        with throwaway_stack("retkee-bench-ratelimits-", time_scale=scale) as config:
            clock = WaitClock()
            clock.install()
            if args.warmup:
                # A refresh process pays its one-time costs (imports, the quality suites' first load) on its
                # first seller only; they are not what this benchmark is about.
                warm = argparse.Namespace(**{**vars(args), "marketplaces": [1]})
                print(f"warm-up (not counted): {run_once(config, warm, clock, -1).wall:.1f} s", flush=True)
            for index in range(args.runs):
                result = run_once(config, args, clock, index)
                runs.append(result)
                print(f"time scale {scale}, run {index + 1}: ours {result.wall:.1f} s, floor "
                      f"{sum(result.seller_floors):.1f} s (sellers one after another) / "
                      f"{max(result.seller_floors):.1f} s (side by side); per seller "
                      f"{[round(w, 1) for w in result.seller_walls]} vs "
                      f"{[round(f, 1) for f in result.seller_floors]}", flush=True)

    write_result(args, sets)
    return 0


def write_result(args, sets: dict[float, list[RunResult]]) -> None:
    def median(values) -> float:
        return statistics.median(values)

    measurements, ratios, parameters = [], [], {}
    for scale, runs in sets.items():
        at = f"x{scale}"
        ours = [r.wall for r in runs]
        # The application-wide caps hold across sellers: neither floor is below what they need.
        serial = [max(sum(r.seller_floors), r.application_floor) for r in runs]
        parallel = [max(*r.seller_floors, r.application_floor) for r in runs]
        measurements += [
            Measurement(f"{at}: ours, {len(args.marketplaces)} sellers one after another", ours),
            Measurement(f"{at}: floor, sellers one after another", serial),
            Measurement(f"{at}: floor, sellers side by side", parallel),
            Measurement(f"{at}: ours, blocked in our rate-limit buckets", [r.bucket_wait for r in runs]),
            Measurement(f"{at}: ours, collecting reports", [r.collecting for r in runs]),
            Measurement(f"{at}: ours, everything else", [r.wall - r.bucket_wait - r.collecting for r in runs]),
        ]
        ratios += [
            ratio(f"{at}: ours / floor, sellers one after another", median(ours), median(serial), TARGET),
            ratio(f"{at}: ours / floor, sellers side by side", median(ours), median(parallel), TARGET),
        ]
        for position, count in enumerate(args.marketplaces):
            seller_ours = [r.seller_walls[position] for r in runs]
            seller_floor_ = [r.seller_floors[position] for r in runs]
            measurements += [
                Measurement(f"{at}: {count}-marketplace seller, ours", seller_ours),
                Measurement(f"{at}: {count}-marketplace seller, floor", seller_floor_),
            ]
            ratios.append(ratio(f"{at}: {count}-marketplace seller, ours / floor", median(seller_ours),
                                median(seller_floor_), TARGET))
        throttled = sum(call["throttled"] + call["faulted"]
                        for r in runs for seller in r.calls for call in seller.values())
        parameters[f"time scale {scale}"] = {
            "calls_refused_429_or_fault": throttled,
            "calls_admitted_last_run": {
                f"{count}-marketplace seller": ", ".join(f"{op} {call['admitted']}" for op, call in seller.items())
                for count, seller in zip(args.marketplaces, runs[-1].calls, strict=True)},
            "floor_bound_by_last_run": {f"{count}-marketplace seller": bound
                                        for count, bound in zip(args.marketplaces, runs[-1].binding, strict=True)},
        }
    snapshots = " + today's snapshots" if args.snapshots else ""
    scales = " ".join(map(str, args.time_scale))
    result = BenchResult(
        name="extraction_rate_limits",
        title=f"Daily extraction of {len(args.marketplaces)} sellers vs the rate-limit floor",
        command="make bench BENCH=extraction_rate_limits  (python -m benchmarks.bench_extraction_rate_limits "
                f"--marketplaces {' '.join(map(str, args.marketplaces))} --days {args.days} "
                f"--time-scale {scales} --runs {args.runs}{'' if args.snapshots else ' --no-snapshots'})",
        measurements=measurements,
        ratios=ratios,
        parameters={
            "sellers_marketplaces": args.marketplaces, "days": f"{args.days} (ending yesterday){snapshots}",
            "time_scales": args.time_scale, "runs": args.runs, "seller_profile": PROFILE, **parameters,
        },
        notes=NOTES,
    )
    print(f"wrote {result.write()}")


NOTES = """\
Everything runs on the sandbox's clock; rows are labelled by it: x0.25 makes every Amazon duration 4x \
shorter (report and Data Kiosk query processing 30 s -> 7.5 s, bucket refills 4x faster), x0.02 50x shorter \
(0.6 s); our client's buckets follow through RETKEE_SPAPI_RATE_SCALE, live in PostgreSQL (shared by every worker, \
as in production) and the client's token cache (SP_API_AUTH_CACHE_TTL) is scaled alike. Ours runs `retkee \
refresh`'s extraction: sellers one after another, each seller's day and today's snapshots as Dagster runs executed \
in process, the seller's extractions side by side on the step's threads; its marts are not part of it. Floor \
model, per seller, from the calls the sandbox admitted for it (GET /_sandbox/calls) and Amazon's published usage \
plans (spapi_sandbox/ratelimit.py = docs/amazon): for each operation with burst b and rate r, n calls need at \
least max(0, (n - b)/r) seconds (buckets start full); buckets refill side by side, so the seller's bound is the \
largest one, not the sum. The last report (createReport) or Data Kiosk query (createQuery) still needs one \
processing time (30 Amazon-seconds) after its token. No concession is made for how our code orders its calls: \
reports could all be processed side by side. The seller floor is the largest of these lower bounds (times the \
time scale); it assumes zero network and CPU time. The floor counts our own calls, so polls that drain getReport's \
bucket raise it (the 1-marketplace seller at x0.25). Application-wide caps (GET_SALES_AND_TRAFFIC_REPORT, once per \
15 minutes for all sellers) add (n - 1) x 15 minutes over the run's capped calls; with Data Kiosk as the \
sales-and-traffic path there are none. Sellers one after another: the sum of the seller floors, as refresh runs \
them. Sellers side by side: the largest seller floor, what Amazon's per-seller limits would allow a client that \
extracts sellers in parallel. The breakdown splits ours by wall time across threads: any moment a thread is \
blocked in our buckets counts as bucket wait; of the rest, any moment a thread is collecting a report or a query \
(Amazon's processing, our polls: first after 0.5 s, then 25 % longer each time up to 10 s, on the sandbox's \
clock, plus the download) counts as collecting; the remainder is everything else (Dagster runs and steps, \
sessions, landing, loading, quality checks), which does not shrink with the time scale: the smaller the scale, \
the more it weighs against the floor. x0.25 is closer to a real day; x0.02 shows the fixed costs against a floor \
of seconds, and on a shared 2-core machine they grow with its load. Medians are over runs. \
calls_refused_429_or_fault above 0 would mean our pacing let calls through that Amazon refused.\
"""


if __name__ == "__main__":
    raise SystemExit(main())
