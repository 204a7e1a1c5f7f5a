"""What the warehouse leaves on disk, read byte for byte as an attacker with the disk (not the database) would.

A seller is loaded through the real pipeline (sandbox -> extraction -> landing -> warehouse -> dbt) on the
session stack, whose data dir is a gocryptfs mount (local_stack/encrypted_fs.py). Its values are the sandbox's
own: the seller id, its SKUs and the order ids of the extracted day, taken from the sandbox world (what
Amazon's API answered), never from the warehouse.

1. The backing directory, what is really on disk, holds none of them; the decrypted view, after a checkpoint,
   does (so the scan can find what it looks for). With RETKEE_WAREHOUSE_PLAIN_DISK=1 the stack runs on plain
   disk and the first test fails, listing the files.
2. After the tenant's tables are analysed (as autovacuum would) and it is erased (with the clear_disk_residue
   step: shared tables rewritten with fresh statistics, pg_statistic rewritten, WAL switch, checkpoint), the
   decrypted data dir, pg_wal included, holds none of them either. Without that step the scan finds them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from local_stack import encrypted_fs
from tests.integration.conftest import US, settled_days, world_for
from tests.security.conftest import admin_connect, refresh_orders_slice

pytestmark = pytest.mark.integration

SELLER = "A9ATRESTSCAN001"


def seller_values(config, seller_id: str, days) -> set[str]:
    from datetime import timedelta

    world = world_for(config)
    orders = {it.amazon_order_id for it in world.items(seller_id, days[0], days[-1] + timedelta(days=1))}
    skus = {s.sku for s in world.catalogue(seller_id)}
    assert orders and skus
    return {seller_id} | orders | skus


def scan(root: Path, needles: set[str]) -> dict[str, list[str]]:
    """Every file under `root`, byte for byte (names too): which needles appear where?"""
    pattern = re.compile(b"|".join(re.escape(n.encode()) for n in sorted(needles, key=len, reverse=True)))
    found: dict[str, list[str]] = {}
    for path in root.rglob("*"):
        hits = {m.decode() for m in pattern.findall(str(path).encode())}
        if path.is_file() and not path.is_symlink():
            try:
                hits |= {m.decode() for m in pattern.findall(path.read_bytes())}
            except FileNotFoundError:  # a temporary file gone between listing and reading
                continue
        if hits:
            found[str(path.relative_to(root))] = sorted(hits)[:3]
    return found


def on_disk(config) -> Path:
    """Where the warehouse's bytes are stored: the backing directory when encrypted, else the data dir."""
    return encrypted_fs.cipher_dir(config) if encrypted_fs.is_encrypted(config) else config.pg_data_dir


def checkpoint(config) -> None:
    """Everything in shared buffers written to the data files, as it would be minutes later anyway."""
    with admin_connect(config, "postgres") as conn:
        conn.execute("checkpoint")


@pytest.fixture(scope="module")
def loaded_seller(pipeline_stack, onboard, instance):
    seller, tenant = onboard(SELLER, marketplaces=(US,), profile={"skus": 4, "orders_per_day": 8})
    days = settled_days(1)
    report = refresh_orders_slice(instance, tenant.tenant_id, days)
    assert report.failed == [], report.failed
    return tenant, seller_values(pipeline_stack, SELLER, days)


def test_the_disk_holds_no_seller_value_in_clear(pipeline_stack, loaded_seller):
    _, needles = loaded_seller
    checkpoint(pipeline_stack)
    decrypted = scan(pipeline_stack.pg_data_dir, needles)
    assert decrypted, "the seller's values should be in the data files after a checkpoint"
    assert sorted({n for hits in decrypted.values() for n in hits} & {SELLER}) == [SELLER]
    assert scan(on_disk(pipeline_stack), needles) == {}
    assert encrypted_fs.is_mounted(pipeline_stack.pg_data_dir)


def test_after_erasure_nothing_of_the_seller_is_readable_in_the_data_dir(pipeline_stack, settings, instance,
                                                                        loaded_seller):
    from orchestration.definitions import defs
    from orchestration.defs.resources import open_session

    tenant, needles = loaded_seller
    # What autovacuum does sooner or later: the planner's statistics (most common values) of the tenant's tables.
    with admin_connect(pipeline_stack, "warehouse") as admin:
        admin.execute("analyze")
        (statistics_rows,), = admin.execute(
            "select count(*) from pg_statistic s join pg_class c on c.oid = s.starelid"
            " join pg_namespace n on n.oid = c.relnamespace where starts_with(n.nspname, %s)",
            (f"{tenant.tenant_id}_",)).fetchall()
    assert statistics_rows > 0
    checkpoint(pipeline_stack)
    assert scan(pipeline_stack.pg_data_dir / "pg_wal", needles), "the WAL should hold the seller's rows before"
    with open_session(settings) as session:
        session.registry.set_status(tenant.tenant_id, "terminated", "subscription ended")
        session.conn.commit()
    result = defs.resolve_job_def("erase_tenant").execute_in_process(
        instance=instance, run_config={"ops": {"erase_tenant_data": {"config": {"tenant_id": tenant.tenant_id}}}},
        raise_on_error=False)
    assert result.success

    assert scan(pipeline_stack.pg_data_dir, needles) == {}

    with open_session(settings) as session, session.conn.cursor() as cur:
        cur.execute("select destroyed -> 'disk_residue', verification -> 'statistics_rewritten'"
                    " from audit.erasure_certificates where tenant_id = %s", (tenant.tenant_id,))
        residue, rewritten = cur.fetchone()
    assert rewritten is True
    assert residue["statistics_rewritten"] is True
    assert "control.tenants" in residue["statistics_analyzed"]
    assert residue["wal_after_checkpoint"] and residue["wal_switched_at"]
