"""Per-tenant overhead of a daily dbt refresh: one parsed project re-targeted per tenant in one process
(orchestration/transform/tenant_runner.py) against the naive way, one `dbt build` CLI process per tenant.

Both run `dbt build` (every model, data test and unit test) for the same tenants on the same warehouse, side by
side. Overhead = wall time - dbt's own execution phase (`elapsed_time` of the run: the node graph, threads in
parallel), so it is what the approach costs beyond running the SQL: process start-up, imports, project parse,
profile and adapter set-up. The in-process figure includes its one-time parse, spread over the tenants.

    .venv/bin/python benchmarks/bench_dbt_refresh.py [--sizes 1 10 100] [--naive-sample K]

It starts a throw-away PostgreSQL + OpenBao (local_stack, no sandbox) in a temporary directory, creates the
tenants' raw schemas with synthetic orders, and writes benchmarks/results/dbt_refresh.json. With
`--naive-sample K`, sizes above K time the naive way on K tenants only (its per-tenant overhead does not depend
on the number of tenants) and say so in the result.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from psycopg import sql  # noqa: E402

from benchmarks.results_format import measured_commit  # noqa: E402
from benchmarks.stack import throwaway_stack  # noqa: E402

DBT_PROJECT = REPO / "dbt_project"
RESULTS = REPO / "benchmarks" / "results"
DAYS_OF_ORDERS = 30
ORDERS_PER_DAY = 20


def seed_tenant(conn, tenant_id: str) -> None:
    from orchestration.costs.store import ensure_unit_costs_table
    from orchestration.load.datasets import DATASETS
    from orchestration.load.raw_tables import ensure_tables

    raw = sql.Identifier(f"{tenant_id}_raw")
    with conn.transaction(), conn.cursor() as cur:
        # The tenant's schemas were made by provisioning when the caller entered tenant_scope (the pipeline has no
        # CREATE on the database, and the tenant's own role may not call provisioning itself).
        for dataset in DATASETS.values():
            ensure_tables(cur, tenant_id, dataset)
        ensure_unit_costs_table(cur, tenant_id)
        cur.execute(
            sql.SQL(
                """
                insert into {}.orders (amazon_order_id, purchase_date, order_status, sku, item_status, quantity,
                    currency, item_price, item_tax, shipping_price, item_promotion_discount, _partition)
                select 'O-' || d || '-' || n, day + (n || ' minutes')::interval, 'Shipped', 'SKU-' || (n %% 8),
                    'Shipped', 1 + n %% 3, 'USD', (10 + n %% 17)::numeric(14,2), 1.00, 0.00,
                    (case when n %% 5 = 0 then 1 else 0 end)::numeric(14,2), day::date::text
                from generate_series(1, %s) as d,
                     lateral (select (current_date - d)::timestamptz as day) as days,
                     generate_series(1, %s) as n
                """
            ).format(raw),
            (DAYS_OF_ORDERS, ORDERS_PER_DAY),
        )
        cur.execute(
            sql.SQL(
                "insert into {}.unit_costs (sku, unit_cost, currency, valid_from, _import_id)"
                " select 'SKU-' || n, 4.5, 'USD', current_date - 60, 'bench' from generate_series(0, 7) as n"
            ).format(raw)
        )


def run_naive(tenants: list[str], login: dict[str, str], scratch: Path) -> dict:
    dbt = str(Path(sys.executable).with_name("dbt"))
    started = time.perf_counter()
    node_seconds, failures = 0.0, 0
    for tenant_id in tenants:
        target = scratch / f"naive-{tenant_id}"
        env = {**os.environ, **login, "RETKEE_TENANT_ID": tenant_id}
        result = subprocess.run(  # noqa: S603 - fixed argv
            [dbt, "build", "--quiet", "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
             "--target-path", str(target), "--log-path", str(target / "logs")],
            env=env, capture_output=True, text=True, check=False,
        )
        failures += result.returncode != 0
        run_results = json.loads((target / "run_results.json").read_text())
        node_seconds += run_results["elapsed_time"]
    wall = time.perf_counter() - started
    return _summary(len(tenants), wall, node_seconds, failures)


def run_in_process(tenants: list[str], login: dict[str, str]) -> dict:
    from orchestration.transform.tenant_runner import TenantDbtRunner

    started = time.perf_counter()
    runner = TenantDbtRunner()
    node_seconds, failures = 0.0, 0
    for tenant_id in tenants:
        build = runner.build(tenant_id, login)
        failures += not build.success
        node_seconds += build.run_seconds
    wall = time.perf_counter() - started
    return {**_summary(len(tenants), wall, node_seconds, failures), "parse_seconds": round(runner.parse_seconds, 3)}


def _summary(count: int, wall: float, node_seconds: float, failures: int) -> dict:
    overhead = wall - node_seconds
    return {
        "tenants": count,
        "wall_seconds": round(wall, 3),
        "dbt_execution_seconds": round(node_seconds, 3),
        "overhead_seconds": round(overhead, 3),
        "overhead_per_tenant_seconds": round(overhead / count, 4),
        "failed_builds": failures,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--naive-sample", type=int, default=0, help="time the naive way on at most K tenants")
    parser.add_argument("--output", type=Path, default=RESULTS / "dbt_refresh.json")
    args = parser.parse_args()

    with throwaway_stack("retkee-bench-") as config:
        root = config.data_dir.parent
        from orchestration.defs.resources import open_session

        tenants = [f"t{index:012x}" for index in range(max(args.sizes))]
        with open_session() as session:
            from orchestration.warehouse.grants import tenant_scope

            session.conn.commit()
            for tenant_id in tenants:
                with tenant_scope(session.conn, tenant_id):  # the tenant's own role owns its schemas, as in production
                    seed_tenant(session.conn, tenant_id)
            username, password = session.vault.warehouse_login()
        login = {"RETKEE_DBT_USER": username, "RETKEE_DBT_PASSWORD": password.reveal()}
        rows = []
        for size in args.sizes:
            subset = tenants[:size]
            naive_subset = subset[: args.naive_sample] if args.naive_sample and size > args.naive_sample else subset
            in_process = run_in_process(subset, login)  # a fresh runner: it pays its parse again for each size
            naive = run_naive(naive_subset, login, root)
            ratio = naive["overhead_per_tenant_seconds"] / max(in_process["overhead_per_tenant_seconds"], 1e-9)
            rows.append({
                "tenants": size,
                "in_process": in_process,
                "naive": {**naive, "sampled": len(naive_subset) != size},
                "overhead_ratio": round(ratio, 1),
            })
            print(f"{size:4d} tenants: overhead/tenant naive {naive['overhead_per_tenant_seconds']:.3f} s, "
                  f"in-process {in_process['overhead_per_tenant_seconds']:.3f} s -> {ratio:.1f}x less", flush=True)
        result = {
            "benchmark": "dbt daily refresh, per-tenant overhead",
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "commit": measured_commit(),
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
            "workload": {"command": "dbt build", "orders_per_tenant": DAYS_OF_ORDERS * ORDERS_PER_DAY},
            "definition": "overhead = wall time - dbt's execution phase (run elapsed_time); in-process includes "
            "its one-time parse",
            "results": rows,
        }
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.output}")
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
