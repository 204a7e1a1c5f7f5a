"""A multi-seller daily extraction against the time-scaled SP-API sandbox, beside the floor Amazon's rate limits allow.

Ours, as `retkee refresh` runs it (orchestration/refresh.py): one seller after another; for each day the Dagster
job `extract_reports` (every extraction asset of the (tenant, day) partition, executed in process, one step at a
time), then today's snapshots (inventory, listings, estimated fees, inbound shipments). The marts that `refresh`
builds afterwards are left out: this measures extraction. The default workload is a steady-state daily run,
yesterday plus today's snapshots, for three sellers in 1, 3 and 5 marketplaces: a seller in five marketplaces
asks for 30 reports a day, twice the createReport burst, so its run is paced by the usage plans.

Floor: computed from the calls the sandbox admitted per (seller, operation) (`GET /_sandbox/calls`) and
Amazon's published usage plans, see `seller_floor` and the notes in the result.

    .venv/bin/python -m benchmarks.bench_extraction_rate_limits [--marketplaces 1 3 5] [--days 1]
        [--time-scale 0.02] [--runs 3] [--no-snapshots] [--warmup]

It starts a throw-away stack (PostgreSQL, OpenBao, the sandbox at --time-scale, client buckets following through
RETKEE_SPAPI_RATE_SCALE) in a temporary directory; each run onboards fresh sellers, so every bucket starts full
on both sides. Writes benchmarks/results/extraction_rate_limits.json.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.results_format import BenchResult, Measurement, ratio  # noqa: E402
from local_stack import Stack, StackConfig  # noqa: E402
from local_stack.demo import DemoSeller, admin_request, ensure_dagster_home, register_seller  # noqa: E402
from local_stack.ports import free_port  # noqa: E402
from local_stack.settings import dagster_env  # noqa: E402
from spapi_sandbox.marketplaces import MARKETPLACES  # noqa: E402
from spapi_sandbox.ratelimit import USAGE_PLANS  # noqa: E402 - Amazon's published plans, as the sandbox applies them

TARGET = 1.2  # ours may take at most this multiple of the floor
# The python-amazon-sp-api client caches an access token for this many seconds whatever `expires_in` says;
# the sandbox ends a token's life after 3600 * time-scale seconds, so the cache must shrink with the clock.
CLIENT_TOKEN_CACHE_SECONDS = 3200
PROFILE = {"skus": 12, "orders_per_day": 40}


# -- the pieces bench_orchestration.py shares ---------------------------------------------------------------


@contextmanager
def sandbox_stack(time_scale: float, prefix: str) -> Iterator[StackConfig]:
    """A throw-away stack with the SP-API sandbox at `time_scale`; this process's environment points at it
    (client buckets scaled alike) while inside, and is restored afterwards."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o711)  # PostgreSQL's OS user must be able to enter it
    config = StackConfig(data_dir=root / "data", pg_port=free_port(), vault_port=free_port(),
                         vault_cluster_port=free_port(), sandbox_port=free_port(), dagster_port=free_port(),
                         sandbox_time_scale=time_scale)
    stack = Stack(config)
    saved = dict(os.environ)
    try:
        stack.up()
        ensure_dagster_home(config)
        os.environ.update(dagster_env(config))  # RETKEE_SPAPI_RATE_SCALE = the sandbox's time scale
        os.environ["SP_API_AUTH_CACHE_TTL"] = str(max(1, int(CLIENT_TOKEN_CACHE_SECONDS * time_scale)))
        os.environ.pop("SP_API_DEFAULT_MARKETPLACE", None)  # it would override every seller's marketplace
        yield config
    finally:
        os.environ.clear()
        os.environ.update(saved)
        stack.clean()
        shutil.rmtree(root, ignore_errors=True)


def seller_in(marketplace_count: int, label: str) -> DemoSeller:
    """A fresh seller in `marketplace_count` marketplaces of one region (North America up to 4, else Europe)."""
    region = "na" if marketplace_count <= 4 else "eu"
    ids = tuple(m.marketplace_id for m in MARKETPLACES.values() if m.region == region)
    if marketplace_count > len(ids):
        raise ValueError(f"the sandbox knows {len(ids)} marketplaces in {region}, not {marketplace_count}")
    seller_id = f"A1{label}{secrets.token_hex(4)}".upper()
    return DemoSeller(seller_id, region, ids[:marketplace_count], dict(PROFILE))


def onboard(config: StackConfig, sellers: list[DemoSeller]) -> list[str]:
    """Authorize our app for each seller in the sandbox and onboard it as the product does; the tenant ids."""
    from dagster import DagsterInstance

    from orchestration.defs.partitions import TENANTS
    from orchestration.defs.resources import open_session
    from orchestration.secrets.redaction import Secret
    from orchestration.secrets.vault import Vault
    from orchestration.settings import Settings
    from orchestration.tenants.onboarding import onboard_seller

    settings = Settings.from_env()
    onboarding = Vault(settings.for_duty("onboarding"))
    tenant_ids = []
    with open_session(settings) as session:
        for seller in sellers:
            token = register_seller(config, seller)
            tenant = onboard_seller(session.conn, onboarding, seller_id=seller.seller_id, region=seller.region,
                                    marketplace_ids=list(seller.marketplace_ids), refresh_token=Secret(token))
            tenant_ids.append(tenant.tenant_id)
    with DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(TENANTS.name, tenant_ids)
    return tenant_ids


def last_days(count: int) -> list[date]:
    """The `count` days ending yesterday (UTC), oldest first, as `retkee refresh --days N` asks them."""
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    return [yesterday - timedelta(days=offset) for offset in range(count - 1, -1, -1)]


# -- ours: refresh's extraction ------------------------------------------------------------------------


def extract_tenant(instance, tenant_id: str, days: list[date], *, snapshots: bool = True) -> list[str]:
    """The extraction half of `orchestration.refresh.refresh` for one tenant: the same job, partitions and
    order (each day, then today's snapshots). `refresh` cannot leave out the marts, hence this mirror.
    Returns the labels of failed runs."""
    from dagster import MultiPartitionKey

    from orchestration.definitions import defs
    from orchestration.defs.schedules import SNAPSHOT_KEYS

    job = defs.resolve_job_def("extract_reports")
    failed = []
    for day in days:
        key = MultiPartitionKey({"tenant": tenant_id, "day": day.isoformat()})
        if not job.execute_in_process(instance=instance, partition_key=key, raise_on_error=False).success:
            failed.append(f"{tenant_id} {day} extract")
    today = datetime.now(UTC).date()
    if snapshots and today not in days:
        key = MultiPartitionKey({"tenant": tenant_id, "day": today.isoformat()})
        result = job.execute_in_process(instance=instance, partition_key=key, raise_on_error=False,
                                        asset_selection=SNAPSHOT_KEYS)
        if not result.success:
            failed.append(f"{tenant_id} {today} snapshots")
    return failed


# -- where ours waits --------------------------------------------------------------------------------------


@dataclass
class WaitClock:
    """Time ours spends blocked in its own rate-limit buckets, and collecting reports (Amazon's processing
    time, the polls, the document download) apart from bucket waits inside that collection."""

    bucket: float = 0.0
    collecting: float = 0.0
    _bucket_in_collect: float = 0.0
    _depth: int = 0

    def install(self) -> None:
        from orchestration.extract import ratelimit, reports

        acquire = ratelimit.RATE_LIMITS.acquire
        collect = reports.ReportRequester.collect
        clock = self

        def timed_acquire(seller_key: str, operation: str) -> None:
            started = time.perf_counter()
            try:
                acquire(seller_key, operation)
            finally:
                waited = time.perf_counter() - started
                clock.bucket += waited
                if clock._depth:
                    clock._bucket_in_collect += waited

        def timed_collect(requester, *args, **kwargs):
            started, before = time.perf_counter(), clock._bucket_in_collect
            clock._depth += 1
            try:
                return collect(requester, *args, **kwargs)
            finally:
                clock._depth -= 1
                if not clock._depth:
                    clock.collecting += time.perf_counter() - started - (clock._bucket_in_collect - before)

        ratelimit.RATE_LIMITS.acquire = timed_acquire
        reports.ReportRequester.collect = timed_collect

    def reading(self) -> tuple[float, float]:
        return self.bucket, self.collecting


# -- the floor ---------------------------------------------------------------------------------------------


def seller_floor(calls: list[dict], marketplace_count: int, processing_seconds: float) -> dict:
    """The least time (Amazon-seconds) Amazon lets one seller's admitted calls take, run the way our code runs them.

    Per operation with burst b and rate r, n calls span at least max(0, (n - b) / r): the bucket starts full and
    refills at r. The buckets refill side by side, so the seller's bound is the largest of them, not their sum.
    Reports: every extraction creates its report in each marketplace, then collects them, so one batch's
    processing overlaps across marketplaces but batches follow each other (one asset at a time): our code must
    wait `processing_seconds` per batch. The last createReport's report must still be processed, so that bucket's
    bound gets one processing time on top. Floor = the largest of these lower bounds.
    """
    admitted = {row["operation"]: row["admitted"] for row in calls}
    bounds = {op: max(0.0, (n - USAGE_PLANS[op].burst) / USAGE_PLANS[op].rate) for op, n in admitted.items()}
    creates = admitted.get("createReport", 0)
    if creates:
        bounds["createReport"] += processing_seconds
    bounds["report processing, batch after batch"] = creates / marketplace_count * processing_seconds
    binding = max(bounds, key=bounds.get)
    return {"amazon_seconds": bounds[binding], "binding": binding, "bounds": bounds}


# -- one run -----------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    wall: float
    seller_walls: list[float]
    seller_floors: list[float]  # real seconds at the sandbox's time scale
    bucket_wait: float
    collecting: float
    calls: list[dict] = field(default_factory=list)
    binding: list[str] = field(default_factory=list)


def run_once(config: StackConfig, args, clock: WaitClock, index: int) -> RunResult:
    from dagster import DagsterInstance

    sellers = [seller_in(count, f"RL{index + 1}M{count}") for count in args.marketplaces]
    tenant_ids = onboard(config, sellers)
    days = last_days(args.days)
    walls, failed = [], []
    bucket0, collecting0 = clock.reading()
    from orchestration.refresh import hold_storage_connections

    with DagsterInstance.get() as instance:
        hold_storage_connections(instance)  # as refresh does
        started = time.perf_counter()
        for tenant_id in tenant_ids:
            began = time.perf_counter()
            failed += extract_tenant(instance, tenant_id, days, snapshots=args.snapshots)
            walls.append(time.perf_counter() - began)
        wall = time.perf_counter() - started
    if failed:
        raise RuntimeError(f"extraction runs failed: {', '.join(failed)}")
    bucket1, collecting1 = clock.reading()

    answer = admin_request(config, "GET", "/_sandbox/calls")
    scale, processing = answer["time_scale"], answer["report_processing_seconds"]
    floors, binding, calls = [], [], []
    for seller in sellers:
        rows = [row for row in answer["calls"] if row["seller_id"] == seller.seller_id]
        floor = seller_floor(rows, len(seller.marketplace_ids), processing)
        floors.append(floor["amazon_seconds"] * scale)
        binding.append(floor["binding"])
        calls.append({row["operation"]: {k: row[k] for k in ("admitted", "throttled", "faulted")} for row in rows})
    return RunResult(wall, walls, floors, bucket1 - bucket0, collecting1 - collecting0, calls, binding)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--marketplaces", type=int, nargs="+", default=[1, 3, 5],
                        help="one seller per value, in that many marketplaces")
    parser.add_argument("--days", type=int, default=1, help="days ending yesterday, as `retkee refresh --days`")
    parser.add_argument("--time-scale", type=float, default=0.02, help="the sandbox's clock (1.0 = Amazon's pace)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--snapshots", action=argparse.BooleanOptionalAction, default=True,
                        help="also take today's snapshots, as `retkee refresh` does by default")
    parser.add_argument("--warmup", action=argparse.BooleanOptionalAction, default=False,
                        help="extract one seller first, uncounted, so one-time process costs stay out of run 1")
    args = parser.parse_args()

    runs: list[RunResult] = []
    with sandbox_stack(args.time_scale, "retkee-bench-ratelimits-") as config:
        clock = WaitClock()
        clock.install()
        if args.warmup:
            # A refresh process pays its one-time costs (imports, the quality suites' first load) on its first
            # seller only; they are not what this benchmark is about.
            warm = argparse.Namespace(**{**vars(args), "marketplaces": [1]})
            print(f"warm-up (not counted): {run_once(config, warm, clock, -1).wall:.1f} s", flush=True)
        for index in range(args.runs):
            result = run_once(config, args, clock, index)
            runs.append(result)
            print(f"run {index + 1}: ours {result.wall:.1f} s, floor {sum(result.seller_floors):.1f} s "
                  f"(sellers one after another) / {max(result.seller_floors):.1f} s (side by side); "
                  f"per seller {[round(w, 1) for w in result.seller_walls]} vs "
                  f"{[round(f, 1) for f in result.seller_floors]}", flush=True)

    write_result(args, runs)
    return 0


def write_result(args, runs: list[RunResult]) -> None:
    def median(values) -> float:
        return statistics.median(values)

    ours = [r.wall for r in runs]
    serial = [sum(r.seller_floors) for r in runs]
    parallel = [max(r.seller_floors) for r in runs]
    measurements = [
        Measurement(f"ours: {len(args.marketplaces)} sellers, one after another", ours),
        Measurement("floor: sellers one after another", serial),
        Measurement("floor: sellers side by side", parallel),
        Measurement("ours: blocked in our rate-limit buckets", [r.bucket_wait for r in runs]),
        Measurement("ours: collecting reports", [r.collecting for r in runs]),
        Measurement("ours: everything else", [r.wall - r.bucket_wait - r.collecting for r in runs]),
    ]
    ratios = [
        ratio("ours / floor, sellers one after another", median(ours), median(serial), TARGET),
        ratio("ours / floor, sellers side by side", median(ours), median(parallel), TARGET),
    ]
    for position, count in enumerate(args.marketplaces):
        seller_ours = [r.seller_walls[position] for r in runs]
        seller_floor_ = [r.seller_floors[position] for r in runs]
        measurements += [
            Measurement(f"{count}-marketplace seller: ours", seller_ours),
            Measurement(f"{count}-marketplace seller: floor", seller_floor_),
        ]
        ratios.append(ratio(f"{count}-marketplace seller: ours / floor", median(seller_ours),
                            median(seller_floor_), TARGET))
    throttled = sum(call["throttled"] + call["faulted"] for r in runs for seller in r.calls for call in seller.values())
    admitted = {f"{count}-marketplace seller": ", ".join(f"{op} {call['admitted']}" for op, call in seller.items())
                for count, seller in zip(args.marketplaces, runs[-1].calls, strict=True)}
    snapshots = " + today's snapshots" if args.snapshots else ""
    result = BenchResult(
        name="extraction_rate_limits",
        title=f"Daily extraction of {len(args.marketplaces)} sellers vs the rate-limit floor",
        command="make bench BENCH=extraction_rate_limits  (python -m benchmarks.bench_extraction_rate_limits "
                f"--marketplaces {' '.join(map(str, args.marketplaces))} --days {args.days} "
                f"--time-scale {args.time_scale} --runs {args.runs}{'' if args.snapshots else ' --no-snapshots'})",
        measurements=measurements,
        ratios=ratios,
        parameters={
            "sellers_marketplaces": args.marketplaces, "days": f"{args.days} (ending yesterday){snapshots}",
            "time_scale": args.time_scale, "runs": args.runs, "seller_profile": PROFILE,
            "calls_refused_429_or_fault": throttled, "calls_admitted_last_run": admitted,
            "floor_bound_by_last_run": {f"{count}-marketplace seller": bound
                                        for count, bound in zip(args.marketplaces, runs[-1].binding, strict=True)},
        },
        notes=NOTES.format(scale=args.time_scale, inverse=round(1 / args.time_scale),
                           processing=round(30 * args.time_scale, 3)),
    )
    print(f"wrote {result.write()}")


NOTES = """\
Everything runs on the sandbox's clock: time-scale {scale} makes every Amazon duration {inverse}x shorter \
(report processing 30 s -> {processing} s, bucket refills {inverse}x faster); our client's buckets follow \
through RETKEE_SPAPI_RATE_SCALE and the client's token cache (SP_API_AUTH_CACHE_TTL) is scaled alike. Ours runs \
`retkee refresh`'s extraction: sellers one after another, each (tenant, day) partition one Dagster run executed \
in process with its assets one at a time, then today's snapshots; its marts are not part of it. (The other way \
runs start, the daemon's `daily_extraction` schedule with a process per run and up to 8 runs side by side, one \
per tenant, is not measured here.) Floor model, per seller, from the calls the sandbox admitted for it (GET \
/_sandbox/calls) and Amazon's published usage plans (spapi_sandbox/ratelimit.py = shared/spapi-reference.md): \
for each operation with burst b and rate r, n calls need at least max(0, (n - b)/r) seconds (buckets start \
full); buckets refill side by side, so the seller's bound is the largest one, not the sum. Report processing \
(IN_QUEUE -> IN_PROGRESS -> DONE, 30 Amazon-seconds) is imposed by Amazon and our code must wait for it: each \
extraction creates its report in every marketplace and then collects them, so processing overlaps across \
marketplaces but not across extractions; that is one processing time per report batch, one batch after another, \
and the last createReport's report still needs one processing time after its token. The seller floor is the \
largest of these lower bounds (times the time scale); it assumes zero network and CPU time. Sellers one after \
another: the sum of the seller floors, as refresh runs them. Sellers side by side: the largest seller floor, \
what Amazon's per-seller limits would allow a client that extracts sellers in parallel. The breakdown splits \
ours into time blocked in our own buckets, time collecting reports (ReportRequester.collect less its bucket \
waits: Amazon's processing, our polls: first after 0.5 s, then x1.5, in real seconds, so they overshoot a short \
processing time by more than at Amazon's pace, plus the download), and everything else (Dagster runs and steps, \
sessions, the other API calls, landing, loading, quality checks), which does not shrink with the time scale: the\
 smaller the scale, the more it weighs against the floor. Run 1 is the process's first and pays its one-time \
imports (--warmup leaves them out); medians are over runs. calls_refused_429_or_fault above 0 would mean our \
pacing let calls through that Amazon refused.\
"""


if __name__ == "__main__":
    raise SystemExit(main())
