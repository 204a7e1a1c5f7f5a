"""Erasure time of a small and a large tenant: it must not grow with the data beyond the cost of DROP SCHEMA.

Each sample builds a fresh tenant (registry row, Vault key and secret through the product's onboarding; raw,
staging and marts schemas filled with synthetic orders by generate_series; encrypted landing-zone documents),
terminates it, and times `orchestration.retain.erasure.erase_tenant` end to end (inventory, drop, key and
secret destruction, landing deletion, verification, certificate), keeping each step's time.

    .venv/bin/python benchmarks/bench_erasure.py [--small-rows 1000] [--large-rows 2000000]
        [--small-files 5] [--large-files 200] [--repeats 3]

It starts a throw-away PostgreSQL + OpenBao (local_stack, no sandbox) in a temporary directory and writes
benchmarks/results/erasure.json.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from psycopg import sql  # noqa: E402

from benchmarks.results_format import BenchResult, Measurement, Ratio  # noqa: E402
from benchmarks.stack import throwaway_stack  # noqa: E402

# Erasing 2000x the rows may cost at most this much more: the fixed steps (Vault, verification, certificate)
# dominate and only DROP SCHEMA and unlinking files grow with the data.
MAX_LARGE_TO_SMALL = 3.0


def build_tenant(session, onboarding_vault, rows: int, files: int) -> str:
    from orchestration.land.envelope import seal
    from orchestration.land.landing_zone import document_key
    from orchestration.secrets.redaction import Secret
    from orchestration.tenants.onboarding import onboard_seller

    seller_id = "A1BENCH" + secrets.token_hex(5).upper()
    token = Secret("Atzr|bench-" + secrets.token_hex(8))
    tenant = onboard_seller(session.conn, onboarding_vault, seller_id=seller_id, region="na",
                            marketplace_ids=["ATVPDKIKX0DER"], refresh_token=token)
    tid = tenant.tenant_id
    raw, staging, marts = (sql.Identifier(f"{tid}_{layer}") for layer in ("raw", "staging", "marts"))
    with session.conn.transaction(), session.conn.cursor() as cur:
        # The tenant's schemas are made by provisioning (the pipeline has no CREATE on the database).
        cur.execute("select provisioning.ensure_tenant_owner(%s)", (tid,))
        cur.execute(sql.SQL(
            "create table {}.orders as select 'O-' || n as amazon_order_id, 'SKU-' || (n %% 500) as sku,"
            " (n %% 7 + 1)::int as quantity, (n %% 10000 / 100.0)::numeric(12, 2) as item_price,"
            " timestamptz '2026-01-01' + (n || ' seconds')::interval as purchase_date"
            " from generate_series(1, %s) as n").format(raw), (rows,))
        cur.execute(sql.SQL("create index on {}.orders (purchase_date)").format(raw))
        cur.execute(sql.SQL("create view {}.stg_orders as select * from {}.orders").format(staging, raw))
        cur.execute(sql.SQL(
            "create table {}.fct_daily_sales as select purchase_date::date as day, sku, sum(item_price * quantity)"
            " as revenue, sum(quantity) as units from {}.orders group by 1, 2").format(marts, raw))
        cur.execute(sql.SQL("analyze {}.orders").format(raw))
    payload = os.urandom(64 * 1024)
    for index in range(files):
        data_key = session.vault.new_data_key(tid)
        header = {"wrapped_key": data_key.wrapped, "tenant_id": tid, "dataset": "orders", "partition": str(index)}
        session.landing.put(document_key(tid, "orders", f"2026-01-{index % 28 + 1:02d}", f"doc{index}"),
                            seal(payload, data_key.plaintext, header))
    session.registry.set_status(tid, "terminated", "subscription ended")
    return tid


def erase_once(session, erasure_vault, key_release_vault, tid: str) -> tuple[float, dict]:
    from orchestration.retain.erasure import ErasureTools, NoRunControl, erase_tenant

    tools = ErasureTools(conn=session.conn, pipeline_vault=session.vault, erasure_vault=erasure_vault,
                         key_release_vault=key_release_vault,
                         landing=session.landing, runs=NoRunControl(), run_id=f"bench-{tid}")
    began = time.perf_counter()
    certificate = erase_tenant(tools, tid)
    elapsed = time.perf_counter() - began
    assert certificate.verified, certificate.verification
    return elapsed, certificate.step_seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small-rows", type=int, default=1_000)
    parser.add_argument("--large-rows", type=int, default=2_000_000)
    parser.add_argument("--small-files", type=int, default=5)
    parser.add_argument("--large-files", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with throwaway_stack("retkee-bench-erasure-"):
        from orchestration.defs.resources import open_session
        from orchestration.secrets.vault import Vault
        from orchestration.settings import Settings

        settings = Settings.from_env()
        onboarding, erasure = Vault(settings.for_duty("onboarding")), Vault(settings.for_duty("erasure"))
        key_release = Vault(settings.for_duty("key-release"))
        samples: dict[str, list[float]] = {"small": [], "large": []}
        steps: dict[str, list[dict]] = {"small": [], "large": []}
        sizes = {"small": (args.small_rows, args.small_files), "large": (args.large_rows, args.large_files)}
        with open_session(settings) as session:
            for _ in range(args.repeats):
                for label, (rows, files) in sizes.items():
                    tid = build_tenant(session, onboarding, rows, files)
                    elapsed, step_seconds = erase_once(session, erasure, key_release, tid)
                    samples[label].append(elapsed)
                    steps[label].append(step_seconds)
                    print(f"{label:5} rows={rows:>9} files={files:>4} erased in {elapsed:.3f}s")

    ratio = statistics.median(samples["large"]) / statistics.median(samples["small"])
    step_medians = {
        label: {step: statistics.median(s[step] for s in runs) for step in runs[0]} for label, runs in steps.items()
    }
    result = BenchResult(
        name="erasure",
        title="Erasure time: small vs large tenant",
        command="benchmarks/bench_erasure.py " + " ".join(sys.argv[1:]),
        measurements=[
            Measurement(f"erase small tenant ({args.small_rows} rows, {args.small_files} files)", samples["small"]),
            Measurement(f"erase large tenant ({args.large_rows} rows, {args.large_files} files)", samples["large"]),
        ],
        ratios=[Ratio("large / small erasure time", round(ratio, 3), f"<= {MAX_LARGE_TO_SMALL}",
                      ratio <= MAX_LARGE_TO_SMALL)],
        notes="Only drop_schemas and delete_landing grow with the data (DROP SCHEMA and unlinking files); "
              "inventory uses planner statistics, never count(*).",
        parameters={**vars(args), "step_seconds_median": step_medians},
    )
    path = result.write()
    print(f"large/small = {ratio:.2f} (target <= {MAX_LARGE_TO_SMALL}); wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
