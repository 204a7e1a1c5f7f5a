"""What encryption at rest costs: the same ingest on the encrypted warehouse (gocryptfs) and on plain disk.

Two throw-away stacks, one after the other, identical but for the data dir: the default one, whose PostgreSQL
data dir (WAL included) is a gocryptfs mount (local_stack/encrypted_fs.py), and one made with
RETKEE_WAREHOUSE_PLAIN_DISK=1. On each, the pipeline's own ingest of one orders report
(benchmarks/bench_ingest.py `ours`: firewall, parse, COPY, sealed landing, commit) runs `--runs` times, each
run followed by a CHECKPOINT inside the timing, so the data files are really written through the file system
and not only the WAL. Target: encrypted within 1.3x of plain.

    .venv/bin/python -m benchmarks.bench_at_rest [--rows 300000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.bench_ingest import clear, make_document, ours  # noqa: E402
from benchmarks.results_format import BenchResult, Measurement, ratio  # noqa: E402
from local_stack import encrypted_fs  # noqa: E402


def ingest_runs(prefix: str, document: bytes, runs: int, rows: int) -> tuple[list[float], bool]:
    """Seconds of each ingest + checkpoint on a fresh stack; and whether its data dir was encrypted."""
    from benchmarks.stack import throwaway_stack

    with throwaway_stack(prefix) as config:
        from local_stack.postgres import SUPERUSER
        from local_stack.secret_files import read_json
        from orchestration.defs.resources import open_session
        from orchestration.secrets.redaction import Secret
        from orchestration.secrets.vault import Vault
        from orchestration.settings import Settings
        from orchestration.tenants.onboarding import onboard_seller

        encrypted = encrypted_fs.is_mounted(config.pg_data_dir)
        settings = Settings.from_env()
        admin_password = read_json(config.pg_superuser_file)["password"]
        samples = []
        with open_session(settings) as session:
            tenant = onboard_seller(session.conn, Vault(settings.for_duty("onboarding")), seller_id="A1BENCHATREST1",
                                    region="na", marketplace_ids=["ATVPDKIKX0DER"],
                                    refresh_token=Secret("Atzr|bench-not-a-real-token"))
            import psycopg

            with psycopg.connect(host="localhost", port=config.pg_port, dbname="postgres", user=SUPERUSER,
                                 password=admin_password, sslmode="verify-full", sslrootcert=str(config.ca_file),
                                 autocommit=True) as admin:
                for _ in range(runs):
                    clear(session, tenant.tenant_id)
                    admin.execute("checkpoint")  # the truncate's own writes stay outside the timing
                    start = time.perf_counter()
                    loaded = ours(document, session, tenant.tenant_id)
                    admin.execute("checkpoint")
                    samples.append(time.perf_counter() - start)
                    assert loaded == rows, loaded
    return samples, encrypted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    document = make_document(args.rows)
    encrypted_samples, was_encrypted = ingest_runs("retkee-bench-at-rest-crypt-", document, args.runs, args.rows)
    if not was_encrypted:
        raise SystemExit(f"the default stack is not encrypted here ({encrypted_fs.plain_disk_reason()}): "
                         "nothing to compare")
    os.environ[encrypted_fs.PLAIN_DISK_VARIABLE] = "1"
    try:
        plain_samples, plain_was_encrypted = ingest_runs("retkee-bench-at-rest-plain-", document, args.runs,
                                                         args.rows)
    finally:
        os.environ.pop(encrypted_fs.PLAIN_DISK_VARIABLE, None)
    assert not plain_was_encrypted

    result = BenchResult(
        name="at_rest",
        title=f"Ingest of a {args.rows:,}-row orders report: encrypted warehouse disk vs plain disk",
        command=f"make bench BENCH=at_rest  (python -m benchmarks.bench_at_rest --rows {args.rows} "
                f"--runs {args.runs})",
        measurements=[
            Measurement("ingest + checkpoint, data dir on gocryptfs (AES-256-GCM)", encrypted_samples),
            Measurement("ingest + checkpoint, data dir on plain disk", plain_samples),
        ],
        ratios=[
            ratio("encrypted / plain", statistics.median(encrypted_samples), statistics.median(plain_samples), 1.3),
        ],
        parameters={"rows": args.rows, "runs": args.runs, "document_gzip_mb": round(len(document) / 1e6, 1)},
        notes="Two stacks one after the other, identical but for the data dir; each run ends with a CHECKPOINT "
              "so the data files (not only the WAL) go through the file system. The landing zone is on plain "
              "disk in both (its objects are sealed by the application).",
    )
    print(json.dumps({"written": str(result.write())}))


if __name__ == "__main__":
    main()
