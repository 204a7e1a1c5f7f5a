"""Key rotation without downtime, the data-subject export, erasure on request from the CLI, and a returning
seller becoming a new tenant that nothing links to the old one."""

from __future__ import annotations

import hashlib
import json

import pytest
from typer.testing import CliRunner

from tests.integration.conftest import settled_days
from tests.integration.test_erasure_end_to_end import certificates_of, extract_orders, transit_keys

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def extracted(pipeline_stack, onboard, instance):
    seller, tenant = onboard("A1ERASEROTATE01")
    days = settled_days(1)
    extract_orders(instance, tenant.tenant_id, days[0])
    return seller, tenant, days


def test_rotation_rewraps_every_envelope_and_retires_the_old_key_version(settings, extracted):
    from orchestration.defs.resources import open_session
    from orchestration.land.documents import read_landed
    from orchestration.land.envelope import read_header
    from orchestration.land.rewrap import envelope_key_version
    from orchestration.retain.erasure import NoRunControl
    from orchestration.retain.rotation import rotate_tenant_key
    from orchestration.secrets.vault import Vault

    _, tenant, _ = extracted
    with open_session(settings) as session:
        keys = session.landing.list(tenant.tenant_id)
        assert keys
        before = {key: read_landed(session.vault, session.landing, key).compressed for key in keys}
        old_wrapped = read_header(session.landing.get(keys[0]))[0]["wrapped_key"]
        result = rotate_tenant_key(Vault(settings.for_duty("rotation")), session.landing, NoRunControl(),
                                   tenant.tenant_id)
        assert result.errors == [] and result.new_version == 2 and result.rewrapped == len(keys)
        assert result.min_decryption_version == 2
        for key in keys:
            blob = session.landing.get(key)
            assert envelope_key_version(blob) == 2
            # The pipeline reads every document as before: no downtime, same bytes.
            assert read_landed(session.vault, session.landing, key).compressed == before[key]
        assert session.vault.decrypts(tenant.tenant_id, old_wrapped) is False  # v1 is retired
        # New documents are wrapped under the new version.
        assert session.vault.new_data_key(tenant.tenant_id).wrapped.startswith("vault:v2:")


def test_the_rotation_duty_cannot_make_a_key_deletable(settings, extracted):
    from orchestration.secrets.vault import TRANSIT_MOUNT, Vault, VaultError, tenant_key_name

    _, tenant, _ = extracted
    rotation = Vault(settings.for_duty("rotation"))
    with pytest.raises(VaultError, match="denied"):
        rotation._call("config", rotation.client.secrets.transit.update_key_configuration,
                       name=tenant_key_name(tenant.tenant_id), deletion_allowed=True, mount_point=TRANSIT_MOUNT)
    with pytest.raises(VaultError, match="denied"):
        rotation._call("delete", rotation.client.secrets.transit.delete_key,
                       name=tenant_key_name(tenant.tenant_id), mount_point=TRANSIT_MOUNT)


def test_export_writes_every_table_with_row_counts_and_checksums(settings, extracted, tmp_path):
    from orchestration.cli import app
    from orchestration.defs.resources import open_session

    _, tenant, _ = extracted
    out = tmp_path / "export"
    answer = CliRunner().invoke(app, ["tenants", "export", tenant.tenant_id, "--out", str(out)])
    assert answer.exit_code == 0, answer.output
    manifest = json.loads((out / "manifest.json").read_text())
    files = {f["source"]: f for f in manifest["files"]}
    assert files["control.tenants"]["rows"] == 1
    with open_session(settings) as session, session.conn.cursor() as cur:
        cur.execute(f'select count(*) from "{tenant.tenant_id}_raw".orders')
        assert files[f"{tenant.tenant_id}_raw.orders"]["rows"] == cur.fetchone()[0] > 0
        cur.execute("select table_schema || '.' || table_name from information_schema.tables"
                    " where starts_with(table_schema, %s)", (f"{tenant.tenant_id}_",))
        every_relation = {row[0] for row in cur.fetchall()}
    assert every_relation and every_relation <= set(files)
    for entry in manifest["files"]:
        assert hashlib.sha256((out / entry["name"]).read_bytes()).hexdigest() == entry["sha256"]
    assert manifest["landing_zone_documents"]

    parquet = tmp_path / "parquet"
    answer = CliRunner().invoke(app, ["tenants", "export", tenant.tenant_id, "--out", str(parquet),
                                      "--format", "parquet"])
    assert answer.exit_code == 0, answer.output
    import polars as pl

    orders = json.loads((parquet / "manifest.json").read_text())
    entry = next(f for f in orders["files"] if f["source"] == f"{tenant.tenant_id}_raw.orders")
    assert pl.read_parquet(parquet / entry["name"]).height == entry["rows"]


def test_erase_on_request_then_the_returning_seller_is_a_new_tenant(pipeline_stack, settings, onboard, extracted):
    from orchestration.cli import app
    from orchestration.defs.resources import open_session

    seller, tenant, _ = extracted
    runner = CliRunner()
    refused = runner.invoke(app, ["tenants", "erase", tenant.tenant_id])
    assert refused.exit_code != 0 and "--yes" in refused.output
    answer = runner.invoke(app, ["tenants", "erase", tenant.tenant_id, "--yes"])
    assert answer.exit_code == 0, answer.output
    [(_, _, _, destroyed, verification)] = certificates_of(settings, tenant.tenant_id)
    assert verification["passed"]
    assert destroyed["transit_key"]["versions"] == [1, 2]  # the rotated key: every version destroyed
    listing = runner.invoke(app, ["erasure", "certificates", "--json", "--tenant", tenant.tenant_id])
    certificate = json.loads(listing.output.strip().splitlines()[-1])
    assert certificate["trigger"] == "seller request" and certificate["verified"] is True
    assert seller.seller_id not in listing.output

    again = runner.invoke(app, ["tenants", "erase", tenant.tenant_id, "--yes"])  # idempotent
    assert again.exit_code == 0, again.output
    assert len(certificates_of(settings, tenant.tenant_id)) == 1
    assert runner.invoke(app, ["tenants", "export", tenant.tenant_id, "--out", "/tmp/x"]).exit_code != 0

    _, returning = onboard(seller.seller_id)
    assert returning.tenant_id != tenant.tenant_id
    assert f"tenant-{returning.tenant_id}" in transit_keys(pipeline_stack)
    with open_session(settings) as session:
        old = session.registry.get(tenant.tenant_id)
        assert old.status == "erased" and old.seller_id is None
        assert session.registry.live_tenant_of_seller(seller.seller_id).tenant_id == returning.tenant_id
