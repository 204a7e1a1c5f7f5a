"""A daily dbt refresh: what it costs at 18 months of history against 1 month, and its per-tenant overhead.

History (issue 15 item 6, target <= 1.5x): a daily `dbt build` (every model, data test and unit test) of a
seller with 18 months of history against one with 1 month, for the same day's new data: one new day of
orders, money and traffic, and one Finances day ten days back posted again (a restatement inside the
lookback). The incremental marts (macros/incremental_window.sql) rebuild only their window, so the two should
cost about the same. The history is synthetic, written by SQL straight into each tenant's raw tables
(extracting 18 months from the sandbox would take hours, issue 15 item 1): orders, Finances 2024-06-19
transaction lines (principal, commission, FBA fee per item; advertising and a monthly subscription that name
no SKU, so the P&L shares them out), sales and traffic by SKU and by date, and unit costs. Stock snapshots,
settlements and the storage-fee report are not generated, so fct_inventory_health and
fct_settlement_reconciliation (full tables) stay small here. Each size runs its first (full) build, then
`--days` daily builds, each after its own day's data; the ratio is of the medians.

Overhead (kept as it was, so its earlier figures stay comparable): one parsed project re-targeted per tenant
in one process (orchestration/transform/tenant_runner.py) against the naive way, one `dbt build` CLI process
per tenant.

Both run `dbt build` (every model, data test and unit test) for the same tenants on the same warehouse, side by
side. Overhead = wall time - dbt's own execution phase (`elapsed_time` of the run: the node graph, threads in
parallel), so it is what the approach costs beyond running the SQL: process start-up, imports, project parse,
profile and adapter set-up. The in-process figure includes its one-time parse, spread over the tenants.

    .venv/bin/python benchmarks/bench_dbt_refresh.py [--section history|overhead|both] [--sizes 1 10 100]
        [--naive-sample K] [--days 3]

It starts a throw-away PostgreSQL + OpenBao (local_stack, no sandbox) in a temporary directory, creates the
tenants' raw schemas with synthetic data, and writes benchmarks/results/dbt_refresh_history.json (history)
and benchmarks/results/dbt_refresh.json (overhead). With
`--naive-sample K`, sizes above K time the naive way on K tenants only (its per-tenant overhead does not depend
on the number of tenants) and say so in the result.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
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
# The history section: a seller of this size, at each length of history (days before the first daily build).
HISTORY_DAYS = {"1 month": 30, "18 months": 548}
HISTORY_ORDERS_PER_DAY = 200
HISTORY_SKUS = 40
RESTATED_DAYS_BACK = 10  # inside the 14-day restatement lookback (dbt var restatement_lookback_days)
INCREMENTAL_MARTS = ("fct_daily_sales", "fct_fees", "fct_margins", "fct_profit_and_loss", "fct_sales_trends")


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


def _history_day(cur, raw: sql.Identifier, offset: int) -> None:
    """One UTC day (`offset` days before today) of synthetic orders, money and traffic, as the loader would
    leave it: every row of the day's partition replaced, with a fresh `_loaded_at`."""
    params = {"offset": offset, "orders": HISTORY_ORDERS_PER_DAY, "skus": HISTORY_SKUS}
    for table in ("orders", "finance_transactions", "sales_traffic_by_sku", "sales_traffic_by_date"):
        cur.execute(sql.SQL("delete from {}.{} where _partition = (current_date - %(offset)s)::text")
                    .format(raw, sql.Identifier(table)), params)
    cur.execute(sql.SQL(
        """
        insert into {}.orders (amazon_order_id, purchase_date, order_status, sales_channel, sku, item_status,
            quantity, currency, item_price, item_tax, shipping_price, item_promotion_discount, _partition)
        select 'O-' || %(offset)s || '-' || n,
            (current_date - %(offset)s)::timestamptz + (n * 7 || ' minutes')::interval, 'Shipped', 'Amazon.com',
            'SKU-' || (n %% %(skus)s), 'Shipped', 1 + n %% 3, 'USD',
            (10 + n %% 17)::numeric(14,2), 0.80, 1.00, (case when n %% 5 = 0 then 1 else 0 end)::numeric(14,2),
            (current_date - %(offset)s)::text
        from generate_series(1, %(orders)s) as n
        """).format(raw), params)
    cur.execute(sql.SQL(
        """
        insert into {}.finance_transactions (transaction_id, transaction_line, transaction_type, transaction_status,
            posted_date, marketplace_id, order_id, sku, quantity, breakdown_path, amount, currency,
            transaction_total, transaction_currency, _partition)
        select 'T-' || %(offset)s || '-' || n, line, 'Shipment', 'RELEASED',
            (current_date - %(offset)s)::timestamptz + (n * 7 + 30 || ' minutes')::interval, 'ATVPDKIKX0DER',
            'O-' || %(offset)s || '-' || n, 'SKU-' || (n %% %(skus)s), 1,
            path, amount, 'USD', (10 + n %% 17) * 0.82 - 3.22, 'USD', (current_date - %(offset)s)::text
        from generate_series(1, %(orders)s) as n,
             lateral (values (1, 'ProductCharges/Principal', (10 + n %% 17)::numeric),
                             (2, 'AmazonFees/Commission', -(10 + n %% 17) * 0.18),
                             (3, 'AmazonFees/FBAPerUnitFulfillmentFee', -3.22::numeric)) as lines(line, path, amount)
        union all
        select 'ADS-' || %(offset)s, 1, 'ProductAdsPayment', 'RELEASED',
            (current_date - %(offset)s)::timestamptz + interval '23 hours', 'ATVPDKIKX0DER', null, null, null,
            'Advertising/ProductAdsCharge', -25.00, 'USD', -25.00, 'USD', (current_date - %(offset)s)::text
        union all
        select 'SUB-' || %(offset)s, 1, 'ServiceFee', 'RELEASED',
            (current_date - %(offset)s)::timestamptz + interval '22 hours', 'ATVPDKIKX0DER', null, null, null,
            'AmazonFees/Subscription', -39.99, 'USD', -39.99, 'USD', (current_date - %(offset)s)::text
        where extract(day from current_date - %(offset)s) = 2
        """).format(raw), params)
    cur.execute(sql.SQL(
        """
        insert into {}.sales_traffic_by_sku (date, sku, currency, sessions, page_views, marketplace_id, _partition)
        select current_date - %(offset)s, 'SKU-' || n, 'USD', 40 + n, 60 + n, 'ATVPDKIKX0DER',
            (current_date - %(offset)s)::text
        from generate_series(0, %(skus)s - 1) as n
        """).format(raw), params)
    cur.execute(sql.SQL(
        """
        insert into {}.sales_traffic_by_date (date, currency, sessions, page_views, marketplace_id, _partition)
        values (current_date - %(offset)s, 'USD', 2000, 3000, 'ATVPDKIKX0DER', (current_date - %(offset)s)::text)
        """).format(raw), params)


def seed_history(conn, tenant_id: str, days: int, first_daily_offset: int) -> None:
    """`days` days of history ending the day before the first daily build's day (`first_daily_offset` days ago)."""
    from orchestration.costs.store import ensure_unit_costs_table
    from orchestration.load.datasets import DATASETS
    from orchestration.load.raw_tables import ensure_tables

    raw = sql.Identifier(f"{tenant_id}_raw")
    with conn.transaction(), conn.cursor() as cur:
        for dataset in DATASETS.values():
            ensure_tables(cur, tenant_id, dataset)
        ensure_unit_costs_table(cur, tenant_id)
        for offset in range(first_daily_offset + days, first_daily_offset, -1):
            _history_day(cur, raw, offset)
        cur.execute(sql.SQL(
            "insert into {}.unit_costs (sku, unit_cost, currency, valid_from, _import_id)"
            " select 'SKU-' || n, 4.5, 'USD', current_date - 600, 'bench' from generate_series(0, %s) as n"
        ).format(raw), (HISTORY_SKUS - 1,))


def daily_data(conn, tenant_id: str, offset: int) -> None:
    """The day's new data: the day itself, and a Finances day ten days before it posted again."""
    raw = sql.Identifier(f"{tenant_id}_raw")
    with conn.transaction(), conn.cursor() as cur:
        _history_day(cur, raw, offset)
        cur.execute(sql.SQL(
            "update {}.finance_transactions set _loaded_at = now(), transaction_total = transaction_total - 0.01,"
            " amount = amount - case when transaction_line = 2 then 0.01 else 0 end"
            " where _partition = (current_date - %s)::text and transaction_type = 'Shipment'"
        ).format(raw), (offset + RESTATED_DAYS_BACK,))


def run_history(tenant_scope, conn, login: dict[str, str], daily_builds: int) -> dict:
    """The daily builds at each length of history, timed: wall time of `dbt build`, and the incremental marts'
    own node time. The sizes take turns, day by day, so a machine busy with other work slows both alike."""
    from orchestration.transform.tenant_runner import TenantDbtRunner

    runner = TenantDbtRunner()
    tenants = {label: f"t{0xb000 + index:012x}" for index, label in enumerate(HISTORY_DAYS)}
    results = {}
    for label, tenant_id in tenants.items():
        with tenant_scope(conn, tenant_id):
            seed_history(conn, tenant_id, HISTORY_DAYS[label], daily_builds)
        first = runner.build(tenant_id, login)
        assert first.success, first.problems()
        results[label] = {"days": HISTORY_DAYS[label], "first_build": first.elapsed, "walls": [], "marts": []}
        print(f"{label}: first build {first.elapsed:.2f} s", flush=True)
    for offset in range(daily_builds, 0, -1):
        for label, tenant_id in tenants.items():
            with tenant_scope(conn, tenant_id):
                daily_data(conn, tenant_id, offset - 1)
            build = runner.build(tenant_id, login)
            assert build.success, build.problems()
            marts = sum(o.execution_time for o in build.outcomes
                        if o.resource_type == "model" and o.unique_id.split(".")[-1] in INCREMENTAL_MARTS)
            results[label]["walls"].append(build.elapsed)
            results[label]["marts"].append(marts)
            slowest = sorted(build.outcomes, key=lambda o: -o.execution_time)[:6]
            print(f"{label}: daily build {build.elapsed:.2f} s (incremental marts {marts:.2f} s); slowest: "
                  + ", ".join(f"{o.unique_id.split('.')[-1]} {o.execution_time:.2f}" for o in slowest), flush=True)
    return results


def history_result(results: dict, daily_builds: int):
    from benchmarks.results_format import BenchResult, Measurement, ratio

    short, long = results["1 month"], results["18 months"]
    measurements = [
        Measurement(f"{label}: daily dbt build (wall)", r["walls"]) for label, r in results.items()
    ] + [
        Measurement(f"{label}: incremental marts' own time", r["marts"]) for label, r in results.items()
    ] + [
        Measurement(f"{label}: first (full) build", [r["first_build"]]) for label, r in results.items()
    ]
    wall_ratio = ratio("daily build, 18 months / 1 month of history", statistics.median(long["walls"]),
                       statistics.median(short["walls"]), target_max=1.5)
    marts_ratio = ratio("incremental marts' own time, 18 months / 1 month", statistics.median(long["marts"]),
                        statistics.median(short["marts"]))
    return BenchResult(
        name="dbt_refresh_history",
        title="dbt daily build, 18 months of history against 1 month",
        command="make bench BENCH=dbt_refresh  (python -m benchmarks.bench_dbt_refresh --section history)",
        measurements=measurements,
        ratios=[wall_ratio, marts_ratio],
        parameters={"orders_per_day": HISTORY_ORDERS_PER_DAY, "skus": HISTORY_SKUS,
                    "history_days": ", ".join(f"{k}={v}" for k, v in HISTORY_DAYS.items()),
                    "daily_builds": daily_builds, "restated_days_back": RESTATED_DAYS_BACK},
        notes=(
            "Synthetic history written straight into the raw tables (see the module's docstring); a daily "
            "build = one new day of orders, money and traffic plus one Finances day re-posted 10 days back. "
            "Wall time covers every model, data test and unit test of the project, much of which does not "
            "depend on the history (the unit tests, views, seeds): compare the first (full) builds, and read "
            "the incremental marts' own time (summed over dbt's threads) as the stricter measure. The sizes "
            "take turns day by day, so a machine busy with other work slows both alike."
        ),
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


def run_overhead(args, session, tenant_scope, login: dict[str, str], root: Path) -> None:
    tenants = [f"t{index:012x}" for index in range(max(args.sizes))]
    for tenant_id in tenants:
        with tenant_scope(session.conn, tenant_id):  # the tenant's own role owns its schemas, as in production
            seed_tenant(session.conn, tenant_id)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", choices=["history", "overhead", "both"], default="both")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--naive-sample", type=int, default=0, help="time the naive way on at most K tenants")
    parser.add_argument("--days", type=int, default=3, help="daily builds timed at each length of history")
    parser.add_argument("--output", type=Path, default=RESULTS / "dbt_refresh.json")
    args = parser.parse_args()

    with throwaway_stack("retkee-bench-") as config:
        root = config.data_dir.parent
        from orchestration.defs.resources import open_session
        from orchestration.warehouse.grants import tenant_scope

        with open_session() as session:
            session.conn.commit()
            username, password = session.vault.warehouse_login()
            login = {"RETKEE_DBT_USER": username, "RETKEE_DBT_PASSWORD": password.reveal()}
            if args.section in ("history", "both"):
                result = history_result(run_history(tenant_scope, session.conn, login, args.days), args.days)
                print(f"wrote {result.write()}")
                for r in result.ratios:
                    print(f"{r.label}: {r.value:.2f} (target {r.target})")
            if args.section in ("overhead", "both"):
                run_overhead(args, session, tenant_scope, login, root)
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
