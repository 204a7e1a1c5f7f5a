"""After a real extraction and build, no planted secret and no buyer PII is found in the warehouse, in
Dagster's run and event storage, in the local servers' logs or in DAGSTER_HOME."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from psycopg import sql

from tests.integration.conftest import world_for
from tests.security.conftest import admin_connect

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def planted(pipeline_stack, settings, refreshed_tenant) -> dict[str, str]:
    """Every secret value of the stack, by name: the tenant's refresh token and all credentials."""
    from local_stack.vault import OpenBaoServer, read_secret

    config = pipeline_stack
    root = OpenBaoServer(config).root_client()
    values = {
        "refresh_token": refreshed_tenant.refresh_token,
        "lwa_client_secret": read_secret(root, "platform/lwa-app")["client_secret"],
        "pipeline_db_password": read_secret(root, "platform/warehouse/pipeline")["password"],
        "compliance_db_password": read_secret(root, "platform/warehouse/compliance")["password"],
        "quota_db_password": read_secret(root, "platform/warehouse/spapi_quota")["password"],
        "dagster_db_password": json.loads(config.dagster_pg_file.read_text())["password"],
        "admin_db_password": json.loads(config.pg_superuser_file.read_text())["password"],
        "vault_root_token": json.loads(config.vault_bootstrap_file.read_text())["root_token"],
        "vault_unseal_key": json.loads(config.vault_bootstrap_file.read_text())["unseal_key"],
    }
    for duty in ("pipeline", "onboarding", "erasure", "compliance"):
        values[f"secret_id_{duty}"] = json.loads(config.approle_file(duty).read_text())["secret_id"]
    assert all(len(v) >= 16 for v in values.values()), "a planted value too short to scan for meaningfully"
    return values


def _buyer_pii(config, seller_id, days) -> dict[str, str]:
    world = world_for(config)
    found = {}
    for item in world.items(seller_id, days[0], days[-1] + timedelta(days=1)):
        buyer = item.buyer
        for kind, value in (("name", buyer.name), ("email", buyer.email), ("phone", buyer.phone),
                            ("street", buyer.address.line1)):
            if value and len(value) >= 6:
                found[value] = f"buyer {kind}"
    assert found, "the sandbox generated no buyers for the day"
    return found


def _table_texts(conn, schemas_sql: str):
    tables = conn.execute(
        "select table_schema, table_name from information_schema.tables"
        f" where table_type = 'BASE TABLE' and {schemas_sql}"  # noqa: S608 - fixed filter text of this test
    ).fetchall()
    for schema, table in tables:
        query = sql.SQL("select t::text from {}.{} t").format(sql.Identifier(schema), sql.Identifier(table))
        for (row,) in conn.execute(query):
            yield f"{schema}.{table}", row


def _assert_absent(texts, needles: dict[str, str]):
    scanned = 0
    for where, text in texts:
        scanned += 1
        for value, name in needles.items():
            assert value not in text, f"{name} found in {where}"
    return scanned


def test_the_extraction_ran_so_secrets_had_every_chance_to_leak(refreshed_tenant):
    assert [r for r in refreshed_tenant.report.succeeded if r.startswith("extract_reports")]
    assert not [r for r in refreshed_tenant.report.failed if r.startswith("extract_reports")]


def test_no_secret_and_no_buyer_pii_in_the_warehouse(pipeline_stack, planted, refreshed_tenant):
    needles = {v: k for k, v in planted.items()}
    needles.update(_buyer_pii(pipeline_stack, refreshed_tenant.seller_id, refreshed_tenant.days))
    with admin_connect(pipeline_stack) as conn:
        scanned = _assert_absent(
            _table_texts(conn, "table_schema not in ('pg_catalog', 'information_schema')"), needles)
    assert scanned > 0


def test_no_secret_in_dagster_run_and_event_storage(pipeline_stack, planted, refreshed_tenant):
    needles = {v: k for k, v in planted.items()}
    with admin_connect(pipeline_stack, "dagster") as conn:
        scanned = _assert_absent(_table_texts(conn, "table_schema = 'public'"), needles)
    assert scanned > 0


def test_no_secret_in_server_logs_or_dagster_home(pipeline_stack, planted, refreshed_tenant):
    needles = {v: k for k, v in planted.items()}
    # The sandbox's own log is Amazon's side of the wire; everything the platform writes is scanned.
    paths = [p for p in pipeline_stack.log_dir.glob("*.log") if p.name != "sandbox.log"]
    paths += [p for p in pipeline_stack.dagster_home.rglob("*") if p.is_file()]
    assert paths
    _assert_absent(((str(p), p.read_text(errors="replace")) for p in paths), needles)


def test_no_secret_or_pii_in_the_landing_zone_in_clear(pipeline_stack, planted, refreshed_tenant):
    needles = {v: k for k, v in planted.items()}
    needles.update(_buyer_pii(pipeline_stack, refreshed_tenant.seller_id, refreshed_tenant.days))
    files = [p for p in pipeline_stack.landing_dir.rglob("*") if p.is_file()]
    assert files
    _assert_absent(((str(p), p.read_bytes().decode("latin-1")) for p in files), needles)
