"""The whole chain: a seller revokes, the next extraction marks it revoked, the sensor erases it, and nothing
unique to that seller is left anywhere (warehouse, Dagster storage, landing zone, Vault), while the other
tenant's data and marts are byte-for-byte what they were."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import psycopg
import pytest
from psycopg import sql

from tests.integration.conftest import settled_days, world_for

pytestmark = pytest.mark.integration

GONE = "A1ERASEGONE0001"
KEPT = "A1ERASEKEPT0001"


# --- helpers shared by the erasure tests ------------------------------------------------------------------
def admin_connect(config, dbname: str) -> psycopg.Connection:
    from local_stack.postgres import SUPERUSER
    from local_stack.secret_files import read_json

    password = read_json(config.pg_superuser_file)["password"]
    return psycopg.connect(host="localhost", port=config.pg_port, dbname=dbname, user=SUPERUSER,
                           password=password, sslmode="verify-full", sslrootcert=str(config.ca_file),
                           autocommit=True)


def vault_root(config):
    from local_stack.vault import OpenBaoServer

    return OpenBaoServer(config).root_client()


def sensor_requests_for(instance, tenant_id: str):
    from dagster import SensorResult, build_sensor_context

    from orchestration.defs.resources import code_location_resources
    from orchestration.defs.retention import ERASURE_TAG, retention_sensor

    with build_sensor_context(instance=instance, resources=code_location_resources()) as context:
        result = retention_sensor(context)
    requests = result.run_requests if isinstance(result, SensorResult) else []
    return [r for r in requests if r.tags.get(ERASURE_TAG) == tenant_id]


def run_requested(instance, request):
    from orchestration.definitions import defs

    job = defs.resolve_job_def(request.job_name)
    return job.execute_in_process(run_config=request.run_config, instance=instance, tags=request.tags,
                                  raise_on_error=False)


def extract_orders(instance, tenant_id: str, day) -> None:
    """Only the orders report of one day: enough data for tests that need some, not every dataset."""
    from dagster import AssetKey, MultiPartitionKey

    from orchestration.definitions import defs
    from orchestration.defs.partitions import TENANTS

    instance.add_dynamic_partitions(TENANTS.name, [tenant_id])
    result = defs.resolve_job_def("extract_reports").execute_in_process(
        instance=instance, partition_key=MultiPartitionKey({"tenant": tenant_id, "day": day.isoformat()}),
        asset_selection=[AssetKey(["raw", "orders"])], raise_on_error=False)
    assert result.success


def certificates_of(settings, tenant_id: str) -> list[tuple]:
    from orchestration.defs.resources import open_session

    with open_session(settings) as session, session.conn.cursor() as cur:
        cur.execute("select tenant_id, run_id, attempt_run_ids, destroyed, verification"
                    " from audit.erasure_certificates where tenant_id = %s", (tenant_id,))
        return cur.fetchall()


def unique_values(config, seller_id: str, other_seller_id: str, days) -> set[str]:
    """Seller id, order ids and SKUs of `seller_id` that `other_seller_id` does not also have."""
    world = world_for(config)
    start, end = days[0], days[-1] + timedelta(days=1)
    orders = {it.amazon_order_id for it in world.items(seller_id, start, end)}
    skus = {s.sku for s in world.catalogue(seller_id)}
    other_orders = {it.amazon_order_id for it in world.items(other_seller_id, start, end)}
    other_skus = {s.sku for s in world.catalogue(other_seller_id)}
    unique = {seller_id} | (orders - other_orders) | (skus - other_skus)
    assert orders - other_orders and skus - other_skus, "the two sellers must differ for the scan to mean much"
    return unique


def scan_database(config, dbname: str, needles: set[str]) -> list[str]:
    """Every row of every table of a database, as text: where does any needle appear?"""
    found = []
    with admin_connect(config, dbname) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE'"
            " and table_schema not in ('pg_catalog', 'information_schema')").fetchall()
        for schema, table in tables:
            rows = conn.execute(sql.SQL("select t::text from {}.{} t").format(
                sql.Identifier(schema), sql.Identifier(table))).fetchall()
            for (text,) in rows:
                hits = [n for n in needles if n in text]
                if hits:
                    found.append(f"{dbname}.{schema}.{table}: {sorted(hits)[:3]}")
                    break
    return found


def scan_files(root, needles: set[str]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        name_hits = [n for n in needles if n in str(path)]
        if name_hits:
            found.append(f"{path}: {name_hits[:3]}")
        if path.is_file():
            blob = path.read_bytes()
            hits = [n for n in needles if n.encode() in blob]
            if hits:
                found.append(f"{path}: {sorted(hits)[:3]}")
    return found


def scan_vault(config, needles: set[str]) -> list[str]:
    from local_stack.vault_layout import KV_MOUNT

    client = vault_root(config)
    found = []

    def walk(prefix: str) -> None:
        listing = client.secrets.kv.v2.list_secrets(path=prefix, mount_point=KV_MOUNT)["data"]["keys"]
        for entry in listing:
            path = f"{prefix}{entry}"
            if entry.endswith("/"):
                walk(path)
                continue
            data = client.secrets.kv.v2.read_secret_version(path=path, mount_point=KV_MOUNT,
                                                           raise_on_deleted_version=False)["data"]
            text = path + json.dumps(data)
            hits = [n for n in needles if n in text]
            if hits:
                found.append(f"kv {path}: {hits[:3]}")

    walk("")
    return found


def transit_keys(config) -> set[str]:
    import hvac.exceptions

    from local_stack.vault_layout import TRANSIT_MOUNT

    try:
        return set(vault_root(config).secrets.transit.list_keys(mount_point=TRANSIT_MOUNT)["data"]["keys"])
    except hvac.exceptions.InvalidPath:  # no key at all
        return set()


def tenant_fingerprint(config, tenant_id: str) -> dict:
    """md5 of every relation of the tenant's schemas (rows in a fixed order), its landing files, its registry row."""
    fingerprint = {}
    with admin_connect(config, "warehouse") as conn:
        relations = conn.execute(
            "select table_schema, table_name from information_schema.tables where starts_with(table_schema, %s)"
            " order by 1, 2", (f"{tenant_id}_",)).fetchall()
        for schema, table in relations:
            (digest, count), = conn.execute(sql.SQL(
                "select md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')), count(*) from {}.{} t"
            ).format(sql.Identifier(schema), sql.Identifier(table))).fetchall()
            fingerprint[f"{schema}.{table}"] = (digest, count)
        fingerprint["control.tenants"] = conn.execute(
            "select t::text from control.tenants t where tenant_id = %s", (tenant_id,)).fetchall()
    for path in sorted((config.landing_dir / tenant_id).rglob("*")):
        if path.is_file():
            fingerprint[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return fingerprint


# --- the scenario -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def erased_seller(pipeline_stack, settings, onboard, instance):
    from local_stack.demo import admin_request
    from orchestration.defs.resources import open_session
    from orchestration.refresh import refresh

    days = settled_days(1)
    gone_seller, gone = onboard(GONE, profile={"skus": 6, "orders_per_day": 12})
    kept_seller, kept = onboard(KEPT, profile={"skus": 6, "orders_per_day": 12})
    first = refresh([gone.tenant_id, kept.tenant_id], days, instance=instance)
    assert first.failed == [], first.failed
    needles = unique_values(pipeline_stack, GONE, KEPT, days)
    # Before: the erased seller's values are really there, so the scan below can find them.
    assert scan_database(pipeline_stack, "warehouse", needles)
    kept_before = tenant_fingerprint(pipeline_stack, kept.tenant_id)
    assert any(name.startswith(f"{kept.tenant_id}_marts.") for name in kept_before)
    with open_session(settings) as session:
        gone_token = session.vault.refresh_token(gone.tenant_id).reveal()

    admin_request(pipeline_stack, "POST", f"/_sandbox/sellers/{GONE}/revoke")
    again = refresh([gone.tenant_id], days[-1:], instance=instance)
    assert again.failed and "revoked" in again.failed[0][1]
    with open_session(settings) as session:
        assert session.registry.get(gone.tenant_id).status == "revoked"

    import os

    os.environ["RETKEE_ERASURE_GRACE_HOURS"] = "0"
    try:
        requests = sensor_requests_for(instance, gone.tenant_id)
        assert len(requests) == 1
        run = run_requested(instance, requests[0])
        assert run.success
        after_requests = sensor_requests_for(instance, gone.tenant_id)
    finally:
        os.environ.pop("RETKEE_ERASURE_GRACE_HOURS", None)
    return {
        "gone": gone, "kept": kept, "needles": needles | {gone_token}, "kept_before": kept_before,
        "run": run, "after_requests": after_requests,
    }


def test_the_sensor_launched_one_erasure_and_then_nothing_more(erased_seller):
    assert erased_seller["run"].success
    assert erased_seller["after_requests"] == []


def test_no_value_unique_to_the_seller_is_left_in_the_warehouse(pipeline_stack, erased_seller):
    assert scan_database(pipeline_stack, "warehouse", erased_seller["needles"]) == []


def test_no_value_unique_to_the_seller_reached_dagster_storage(pipeline_stack, erased_seller):
    assert scan_database(pipeline_stack, "dagster", erased_seller["needles"]) == []
    assert scan_files(pipeline_stack.dagster_home, erased_seller["needles"]) == []


def test_nothing_of_the_seller_is_left_in_the_landing_zone(pipeline_stack, erased_seller):
    assert not (pipeline_stack.landing_dir / erased_seller["gone"].tenant_id).exists()
    assert scan_files(pipeline_stack.landing_dir, erased_seller["needles"]) == []


def test_nothing_of_the_seller_is_left_in_vault(pipeline_stack, erased_seller):
    gone, kept = erased_seller["gone"], erased_seller["kept"]
    assert scan_vault(pipeline_stack, erased_seller["needles"] | {gone.tenant_id}) == []
    keys = transit_keys(pipeline_stack)
    assert f"tenant-{gone.tenant_id}" not in keys
    assert f"tenant-{kept.tenant_id}" in keys


def test_the_other_tenant_is_byte_for_byte_unchanged(pipeline_stack, erased_seller):
    assert tenant_fingerprint(pipeline_stack, erased_seller["kept"].tenant_id) == erased_seller["kept_before"]


def test_the_registry_keeps_only_the_pseudonymous_erased_row(settings, erased_seller):
    from orchestration.defs.resources import open_session

    with open_session(settings) as session:
        tenant = session.registry.get(erased_seller["gone"].tenant_id)
    assert tenant.status == "erased" and tenant.seller_id is None


def test_one_verified_certificate_without_seller_data(settings, erased_seller):
    gone = erased_seller["gone"]
    certificates = certificates_of(settings, gone.tenant_id)
    assert len(certificates) == 1
    _, run_id, attempts, destroyed, verification = certificates[0]
    assert run_id == erased_seller["run"].run_id and attempts == [run_id]
    assert verification["passed"] is True
    assert verification["canary_decrypted_before"] is True and verification["canary_decrypts"] is False
    assert set(destroyed["schemas"]) >= {f"{gone.tenant_id}_raw", f"{gone.tenant_id}_marts"}
    assert destroyed["tables"] > 0 and destroyed["landing_objects"] > 0
    assert destroyed["transit_key"]["name"] == f"tenant-{gone.tenant_id}" and destroyed["transit_key"]["versions"]
    assert destroyed["kv_secret"]["versions"] == [1]
    assert destroyed["dagster_partitions"] == [gone.tenant_id]
    text = json.dumps(certificates[0], default=str)
    assert not any(n in text for n in erased_seller["needles"])


def test_the_erased_tenants_partition_is_gone_and_the_others_stays(instance, erased_seller):
    partitions = set(instance.get_dynamic_partitions("tenants"))
    assert erased_seller["gone"].tenant_id not in partitions
    assert erased_seller["kept"].tenant_id in partitions
