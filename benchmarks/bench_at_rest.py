"""What encryption at rest costs: the same ingest on the encrypted warehouse (gocryptfs) and on plain disk.

Two throw-away stacks, up at the same time, identical but for the data dir: the default one, whose PostgreSQL
data dir (WAL included) is a gocryptfs mount (local_stack/encrypted_fs.py), and one made with
RETKEE_WAREHOUSE_PLAIN_DISK=1. On each, the pipeline's own ingest of one orders report
(benchmarks/bench_ingest.py `ours`: firewall, parse, COPY, sealed landing, commit) runs `--runs` times,
alternating between the two. Timed: the ingest up to its commit (the WAL is on disk), and the ingest plus a
CHECKPOINT (every data page written through the file system too). Target: ingest encrypted within 1.3x of
plain.

    .venv/bin/python -m benchmarks.bench_at_rest [--rows 300000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.bench_ingest import clear, make_document, ours  # noqa: E402
from benchmarks.results_format import BenchResult, Measurement, ratio  # noqa: E402
from local_stack import encrypted_fs  # noqa: E402


@dataclass
class Side:
    """One stack's warehouse, ready to ingest into: a session, an onboarded tenant, an administrator's
    connection (for the checkpoints)."""

    session: object
    tenant_id: str
    admin: psycopg.Connection
    encrypted: bool
    ingest_seconds: list[float] = field(default_factory=list)
    with_checkpoint_seconds: list[float] = field(default_factory=list)

    def ingest(self, document: bytes, rows: int) -> None:
        clear(self.session, self.tenant_id)
        self.admin.execute("checkpoint")  # the truncate's own writes stay outside the timing
        start = time.perf_counter()
        loaded = ours(document, self.session, self.tenant_id)
        committed = time.perf_counter()
        self.admin.execute("checkpoint")
        self.ingest_seconds.append(committed - start)
        self.with_checkpoint_seconds.append(time.perf_counter() - start)
        assert loaded == rows, loaded


def open_side(config, resources: ExitStack) -> Side:
    """Connect to the stack the environment points at now (throwaway_stack set it) and onboard a tenant."""
    from local_stack.postgres import SUPERUSER
    from local_stack.secret_files import read_json
    from orchestration.defs.resources import open_session
    from orchestration.secrets.redaction import Secret
    from orchestration.secrets.vault import Vault
    from orchestration.settings import Settings
    from orchestration.tenants.onboarding import onboard_seller

    settings = Settings.from_env()
    session = resources.enter_context(open_session(settings))
    tenant = onboard_seller(session.conn, Vault(settings.for_duty("onboarding")), seller_id="A1BENCHATREST1",
                            region="na", marketplace_ids=["ATVPDKIKX0DER"],
                            refresh_token=Secret("Atzr|bench-not-a-real-token"))
    admin = resources.enter_context(psycopg.connect(
        host="localhost", port=config.pg_port, dbname="postgres", user=SUPERUSER,
        password=read_json(config.pg_superuser_file)["password"], sslmode="verify-full",
        sslrootcert=str(config.ca_file), autocommit=True))
    return Side(session, tenant.tenant_id, admin, encrypted_fs.is_mounted(config.pg_data_dir))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from benchmarks.stack import throwaway_stack

    document = make_document(args.rows)
    # Both stacks up at once and the runs interleaved (which side goes first alternates), so a load that comes
    # and goes on a shared machine falls on both sides alike.
    with ExitStack() as resources:
        encrypted_config = resources.enter_context(throwaway_stack("retkee-bench-at-rest-crypt-"))
        encrypted = open_side(encrypted_config, resources)
        if not encrypted.encrypted:
            raise SystemExit(f"the default stack is not encrypted here ({encrypted_fs.plain_disk_reason()}): "
                             "nothing to compare")
        os.environ[encrypted_fs.PLAIN_DISK_VARIABLE] = "1"
        plain_config = resources.enter_context(throwaway_stack("retkee-bench-at-rest-plain-"))
        os.environ.pop(encrypted_fs.PLAIN_DISK_VARIABLE, None)
        plain = open_side(plain_config, resources)
        assert not plain.encrypted
        for run in range(args.runs):
            for side in (encrypted, plain) if run % 2 == 0 else (plain, encrypted):
                side.ingest(document, args.rows)

    result = BenchResult(
        name="at_rest",
        title=f"Ingest of a {args.rows:,}-row orders report: encrypted warehouse disk vs plain disk",
        command=f"make bench BENCH=at_rest  (python -m benchmarks.bench_at_rest --rows {args.rows} "
                f"--runs {args.runs})",
        measurements=[
            Measurement("ingest (committed), data dir on gocryptfs (AES-256-GCM)", encrypted.ingest_seconds),
            Measurement("ingest (committed), data dir on plain disk", plain.ingest_seconds),
            Measurement("ingest + CHECKPOINT, data dir on gocryptfs", encrypted.with_checkpoint_seconds),
            Measurement("ingest + CHECKPOINT, data dir on plain disk", plain.with_checkpoint_seconds),
        ],
        ratios=[
            ratio("ingest: encrypted / plain", statistics.median(encrypted.ingest_seconds),
                  statistics.median(plain.ingest_seconds), 1.3),
            ratio("ingest + CHECKPOINT: encrypted / plain", statistics.median(encrypted.with_checkpoint_seconds),
                  statistics.median(plain.with_checkpoint_seconds)),
        ],
        parameters={"rows": args.rows, "runs": args.runs, "document_gzip_mb": round(len(document) / 1e6, 1)},
        notes="Two stacks up at once, identical but for the data dir, runs interleaved (the side that goes first "
              "alternates). 'ingest' ends at the commit, as the pipeline's does (the WAL is on disk, data pages "
              "follow in the background); '+ CHECKPOINT' also waits until every data page went through the file "
              "system, the stricter figure. The landing zone is on plain disk in both (its objects are sealed by "
              "the application).",
    )
    print(json.dumps({"written": str(result.write())}))


if __name__ == "__main__":
    main()
