"""Ingest of one large orders report (1M rows) against a plain COPY floor and a naive row-by-row loader.

Ours, as the pipeline runs it (orchestration.ingest.load_and_land): gzip document in memory -> decompressed a
chunk of lines at a time -> PII firewall (allowlist) -> parse by header name with explicit types (polars) ->
COPY of the chunk into the tenant's raw schema; the firewalled chunks are re-compressed and sealed (AES-256-GCM
under a fresh Vault data key) into the landing zone; the partition is replaced in one transaction.
Floor: COPY of the same already-prepared rows (allowlisted CSV) into a table of the same shape.
Naive: csv module + one INSERT per row, on a sample of the rows, scaled linearly to the full size.
Memory: peak RSS of one run of ours in a fresh process.

    .venv/bin/python -m benchmarks.bench_ingest [--rows 1000000] [--naive-rows 50000] [--runs 3]

Not measured here: the HTTPS download itself (the sandbox generating a 1M-row document would dominate).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import random
import subprocess  # noqa: S404
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.results_format import BenchResult, Measurement, ratio  # noqa: E402
from spapi_sandbox.report_columns import ALL_ORDERS as HEADER  # noqa: E402 - Amazon's documented header

PARTITION = "2026-11-20"


def make_document(rows: int) -> bytes:
    rng = random.Random(7)
    out = io.StringIO()
    out.write("\t".join(HEADER) + "\n")
    for i in range(rows):
        price = f"{rng.randint(500, 9999) / 100:.2f}"
        out.write("\t".join([
            f"111-{i:07d}-{rng.randint(0, 9999999):07d}", "", f"{PARTITION}T{i % 24:02d}:{i % 60:02d}:00+00:00",
            f"{PARTITION}T23:00:00+00:00", "Shipped", "Amazon", "Amazon.com", "", "Standard",
            "Bamboo cutting board, large", f"SKU-{i % 800:04d}", "B0TEST0001", "Shipped", str(1 + i % 3), "USD",
            price, "0.80", "0.00", "0.00", "", "", "0.00", "0.00", "Springfield", "IL", "62704", "US", "", "",
            "false", "", "",
        ]) + "\n")
    return gzip.compress(out.getvalue().encode(), compresslevel=6, mtime=0)


def ours(document: bytes, session, tenant_id: str) -> int:
    """The pipeline's own path (orchestration.ingest.load_and_land): stream the document through the PII
    firewall chunk by chunk, COPY each chunk, land the firewalled copy encrypted, commit."""
    from orchestration.extract.catalogue import EXTRACTIONS
    from orchestration.extract.reports import ReportDocument
    from orchestration.load.pipeline import PartitionOutcome, load_and_land

    doc = ReportDocument(EXTRACTIONS["orders"].datasets[0].report_type, "bench-report", "bench-doc", "utf-8",
                         document)
    outcome = PartitionOutcome(tenant_id, "orders", PARTITION)
    load_and_land(conn=session.conn, vault=session.vault, landing=session.landing, tenant_id=tenant_id,
                  extraction=EXTRACTIONS["orders"], partition=PARTITION, documents=[doc], outcomes=[outcome])
    return outcome.load.rows


def clear(session, tenant_id: str) -> None:
    with session.conn.transaction(), session.conn.cursor() as cur:
        if cur.execute("select to_regclass(%s)", (f"{tenant_id}_raw.orders",)).fetchone()[0]:
            cur.execute(f"truncate {tenant_id}_raw.orders")  # noqa: S608 - validated id, outside the timing


def prepared_csv(session, tenant_id: str) -> bytes:
    buffer = io.BytesIO()
    with session.conn.cursor() as cur, cur.copy(
        f"copy (select * from {tenant_id}_raw.orders) to stdout with (format csv)"  # noqa: S608 - validated id
    ) as copy:
        for chunk in copy:
            buffer.write(chunk)
    return buffer.getvalue()


def floor(session, tenant_id: str, data: bytes) -> None:
    with session.conn.transaction(), session.conn.cursor() as cur:
        cur.execute(
            # including all: the same columns, defaults and the index on _partition that our table carries
            f"create table if not exists {tenant_id}_raw.orders_floor (like {tenant_id}_raw.orders including all)"
        )
        cur.execute(f"truncate {tenant_id}_raw.orders_floor")
        with cur.copy(f"copy {tenant_id}_raw.orders_floor from stdin with (format csv)") as copy:
            copy.write(data)


def naive(session, tenant_id: str, document: bytes, rows: int) -> None:
    text = gzip.decompress(document).decode()
    reader = csv.DictReader(io.StringIO(text), delimiter="\t")
    with session.conn.transaction(), session.conn.cursor() as cur:
        cur.execute(
            f"create table if not exists {tenant_id}_raw.orders_naive (like {tenant_id}_raw.orders including defaults)"
        )
        cur.execute(f"truncate {tenant_id}_raw.orders_naive")
        for index, row in enumerate(reader):
            if index >= rows:
                break
            cur.execute(
                f"insert into {tenant_id}_raw.orders_naive (amazon_order_id, purchase_date, order_status, sku,"  # noqa: S608
                " quantity, currency, item_price, _partition) values (%s, %s, %s, %s, %s, %s, %s, %s)",
                (row["amazon-order-id"], row["purchase-date"], row["order-status"], row["sku"],
                 int(row["quantity"]), row["currency"], row["item-price"], PARTITION),
            )


def measure_memory(document_path: Path, tenant_id: str) -> float:
    """Peak RSS (MB) of one ingest in a fresh process.

    Read from VmHWM in /proc/self/status, the high-water mark of this process's own memory: getrusage's
    ru_maxrss would also count the pages the child shared with this (large) parent between fork and exec.
    """
    code = "\n".join([
        "import sys, re",
        f"sys.path.insert(0, {str(REPO)!r})",
        "from benchmarks.bench_ingest import ours",
        "from orchestration.defs.resources import open_session",
        f"doc = open({str(document_path)!r}, 'rb').read()",
        f"with open_session() as s: ours(doc, s, {tenant_id!r})",
        "print(re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1))",
    ])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)  # noqa: S603
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--naive-rows", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from benchmarks.stack import throwaway_stack

    with throwaway_stack("retkee-bench-ingest-") as config:
        root = config.data_dir.parent
        from orchestration.defs.resources import open_session
        from orchestration.secrets.redaction import Secret
        from orchestration.secrets.vault import Vault
        from orchestration.settings import Settings
        from orchestration.tenants.onboarding import onboard_seller

        settings = Settings.from_env()
        with open_session(settings) as session:
            tenant = onboard_seller(session.conn, Vault(settings.for_duty("onboarding")), seller_id="A1BENCHINGEST01",
                                    region="na", marketplace_ids=["ATVPDKIKX0DER"],
                                    refresh_token=Secret("Atzr|bench-not-a-real-token"))
            document = make_document(args.rows)
            ours_samples, floor_samples, naive_samples = [], [], []
            for _ in range(args.runs):
                clear(session, tenant.tenant_id)  # each run loads a new report, like the floor's COPY after TRUNCATE
                start = time.perf_counter()
                loaded = ours(document, session, tenant.tenant_id)
                ours_samples.append(time.perf_counter() - start)
            assert loaded == args.rows, loaded
            data = prepared_csv(session, tenant.tenant_id)
            for _ in range(args.runs):
                start = time.perf_counter()
                floor(session, tenant.tenant_id, data)
                floor_samples.append(time.perf_counter() - start)
            for _ in range(args.runs):
                start = time.perf_counter()
                naive(session, tenant.tenant_id, document, args.naive_rows)
                naive_samples.append((time.perf_counter() - start) * args.rows / args.naive_rows)
        document_path = root / "orders.tsv.gz"
        document_path.write_bytes(document)
        peak_mb = measure_memory(document_path, tenant.tenant_id)

    result = BenchResult(
        name="ingest",
        title=f"Ingest of a {args.rows:,}-row orders report",
        command=f"make bench BENCH=ingest  (python -m benchmarks.bench_ingest --rows {args.rows} "
                f"--naive-rows {args.naive_rows} --runs {args.runs})",
        measurements=[
            Measurement("ours: decompress, parse, PII filter, encrypt + land, COPY", ours_samples),
            Measurement("floor: plain COPY of the prepared rows", floor_samples),
            Measurement(f"naive: csv + INSERT per row (scaled from {args.naive_rows:,} rows)", naive_samples),
            Measurement("peak RSS of one ingest (fresh process)", [peak_mb], unit="MB"),
        ],
        ratios=[
            ratio("ours / COPY floor", statistics_median(ours_samples), statistics_median(floor_samples), 2.0),
            ratio("naive / ours (speed-up over naive)", statistics_median(naive_samples),
                  statistics_median(ours_samples)),
            ratio("peak RSS / 1024 MB budget", peak_mb, 1024.0, 1.0),
        ],
        parameters={"rows": args.rows, "naive_rows": args.naive_rows, "runs": args.runs,
                    "document_gzip_mb": round(len(document) / 1e6, 1)},
        notes="The HTTPS download is not part of this measurement. The document is streamed a chunk of lines "
              "at a time (orchestration/load/stream.py); memory holds the compressed document and one chunk.",
    )
    print(json.dumps({"written": str(result.write())}))


def statistics_median(samples: list[float]) -> float:
    import statistics

    return statistics.median(samples)


if __name__ == "__main__":
    main()
