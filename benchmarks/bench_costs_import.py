"""Memory of `retkee costs import` on a 1 GB file: streamed, it stays under 200 MB of peak RSS whatever the size.

A unit-cost file of `--size-mb` valid rows is generated under benchmarks/.work/ (deleted afterwards) and imported
by the real command, `retkee costs import FILE --tenant T`, in a child process against a throw-away stack; its
peak resident memory is the child's own (os.wait4's ru_maxrss). First with one bad row appended at the end: the
command must refuse it, naming that line, and import nothing (the tenant has no rows); then without it, imported.
The warehouse is on plain disk (RETKEE_WAREHOUSE_PLAIN_DISK): memory is measured here, not the disk. The
baseline, side by side: the approach the command used before (read the whole file, then parse it with the csv
module into a list) on a `--baseline-mb` file, in a child process too, with its peak memory per MB of file
against ours.

    .venv/bin/python -m benchmarks.bench_costs_import [--size-mb 1024] [--baseline-mb 100]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess  # noqa: S404 - runs our own command line and a baseline script
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.results_format import BenchResult, Measurement, ratio  # noqa: E402

WORK = REPO / "benchmarks" / ".work"
HEADER = "sku,unit_cost,currency,valid_from\n"
BUDGET_MB = 200
# The old command: the whole file read into one string, then every row parsed into a list (cli.py before the
# streaming reader).
BASELINE = """
import csv, io, sys
text = open(sys.argv[1], encoding="utf-8").read()
rows = list(csv.reader(io.StringIO(text)))
print(len(rows) - 1)
"""


def row(i: int) -> str:
    """One valid row: SKUs of a realistic length, costs with up to 2 decimals, start days 2010..2024."""
    return f"SKU-BENCH-{i:09d}-BLUE-XL,{i % 9999}.{i % 100:02d},USD,20{10 + i % 15}-{1 + i % 12:02d}-01\n"


def generate(path: Path, size_bytes: int) -> int:
    """Write a file of about `size_bytes` of valid rows; the number of rows."""
    rows = 0
    written = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        while written < size_bytes:
            chunk = "".join(row(i) for i in range(rows, rows + 100_000))
            out.write(chunk)
            written += len(chunk)
            rows += 100_000
    return rows


def run_child(argv: list[str]) -> tuple[int, str, str, float, float]:
    """(exit code, stdout, stderr, seconds, peak RSS in MB) of one child process: its own peak, from wait4."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        began = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=err, text=True)  # noqa: S603
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - began
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return child.returncode, out.read(), err.read(), seconds, usage.ru_maxrss / 1024  # KiB on Linux


def onboard_tenant() -> str:
    """A tenant of the stack the environment points at (no sandbox needed: costs are the seller's own file)."""
    from orchestration.defs.resources import open_session
    from orchestration.secrets.redaction import Secret
    from orchestration.secrets.vault import Vault
    from orchestration.settings import Settings
    from orchestration.tenants.onboarding import onboard_seller

    settings = Settings.from_env()
    with open_session(settings) as session:
        return onboard_seller(session.conn, Vault(settings.for_duty("onboarding")), seller_id="A1BENCHCOSTS01",
                              region="na", marketplace_ids=["ATVPDKIKX0DER"],
                              refresh_token=Secret("Atzr|bench-not-a-real-token")).tenant_id


def rows_held(tenant_id: str) -> int:
    from orchestration.defs.resources import open_session
    from orchestration.warehouse.schemas import tenant_schema

    with open_session() as session:
        found = session.conn.execute("select to_regclass(%s)", (f"{tenant_schema(tenant_id, 'raw')}.unit_costs",))
        if found.fetchone()[0] is None:
            return 0
        return session.conn.execute(
            f"select count(*) from {tenant_schema(tenant_id, 'raw')}.unit_costs").fetchone()[0]  # noqa: S608


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--baseline-mb", type=int, default=100)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    big, small = WORK / "costs-big.csv", WORK / "costs-baseline.csv"
    retkee = [sys.executable, "-m", "orchestration.cli"]
    try:
        baseline_rows = generate(small, args.baseline_mb * 1024**2)
        code, out, err, baseline_seconds, baseline_peak = run_child([sys.executable, "-c", BASELINE, str(small)])
        assert code == 0 and int(out) == baseline_rows, (code, out, err[-300:])
        small.unlink()
        rows = generate(big, args.size_mb * 1024**2)
        size_mb = big.stat().st_size / 1024**2

        from benchmarks.stack import throwaway_stack

        # Plain disk: memory is what is measured, and the encrypted disk's cost is bench_at_rest's subject.
        os.environ["RETKEE_WAREHOUSE_PLAIN_DISK"] = "1"
        with throwaway_stack("retkee-bench-costs-"):
            tenant_id = onboard_tenant()
            # The refused file first (the must: a bad last row found, nothing imported), then the same file
            # without that row, imported.
            valid_size = big.stat().st_size
            with big.open("a", encoding="utf-8") as out_file:
                out_file.write("SKU-LAST-ROW,not-a-cost,USD,2024-01-01\n")
            code, out, err, bad_seconds, bad_peak = run_child(
                [*retkee, "costs", "import", str(big), "--tenant", tenant_id])
            assert code == 1 and f"line {rows + 2}: unit_cost 'not-a-cost' is not a number" in err, (code, err[-500:])
            assert "nothing was imported" in err and "Traceback" not in err
            assert rows_held(tenant_id) == 0, "the refused file imported rows"
            print(f"refused in {bad_seconds:.0f} s, peak {bad_peak:.0f} MB", flush=True)
            with big.open("r+b") as out_file:
                out_file.truncate(valid_size)
            code, out, err, seconds, peak = run_child([*retkee, "costs", "import", str(big), "--tenant", tenant_id])
            assert code == 0 and f"imported {rows} unit costs" in out, (code, out, err[-500:])
            assert rows_held(tenant_id) == rows
            print(f"imported in {seconds:.0f} s, peak {peak:.0f} MB", flush=True)
    finally:
        for path in (big, small):
            path.unlink(missing_ok=True)

    result = BenchResult(
        name="costs_import",
        title=f"retkee costs import of a {size_mb:,.0f} MB file: peak memory",
        command=f"python -m benchmarks.bench_costs_import --size-mb {args.size_mb} --baseline-mb {args.baseline_mb}",
        measurements=[
            Measurement(f"ours: import {rows:,} rows ({size_mb:,.0f} MB), peak RSS", [peak], "MB"),
            Measurement("ours: the same file + a bad last row (refused, nothing imported), peak RSS",
                        [bad_peak], "MB"),
            Measurement(f"baseline: read whole + csv list, {args.baseline_mb} MB file, peak RSS", [baseline_peak],
                        "MB"),
            Measurement("ours: import, wall time", [seconds]),
            Measurement("ours: refused file, wall time", [bad_seconds]),
            Measurement(f"baseline: {args.baseline_mb} MB file, wall time", [baseline_seconds]),
        ],
        ratios=[
            ratio(f"ours: peak RSS / {BUDGET_MB} MB budget ({size_mb:,.0f} MB file)", peak, BUDGET_MB, 1.0),
            ratio("refused file: peak RSS / budget", bad_peak, BUDGET_MB, 1.0),
            ratio("baseline / ours: peak RSS per MB of file", baseline_peak / args.baseline_mb, peak / size_mb),
        ],
        parameters={"size_mb": round(size_mb), "rows": rows, "baseline_mb": args.baseline_mb,
                    "baseline_rows": baseline_rows},
        notes="Peak RSS is each child process's own maximum (ru_maxrss from os.wait4). Ours includes Python, the "
              "CLI's imports and psycopg; the file streams through a temporary table "
              "in one transaction, then into the tenant's raw.unit_costs. The refused run reads the whole file, "
              "finds the bad last row and rolls back.",
    )
    print(json.dumps({"written": str(result.write())}))


if __name__ == "__main__":
    main()
