"""The code location's typed resources: each Vault duty logs in with its own AppRole file, the settings' rules
hold for them too, and nothing in defs/ opens Vault, the warehouse or a session except through them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestration.defs.resources import VAULT_DUTIES, VaultResource, code_location_resources
from orchestration.settings import SettingsError

DEFS = Path(__file__).resolve().parents[2] / "orchestration" / "defs"


def vault(tmp_path: Path, duty: str, address: str = "https://vault.example:8200") -> VaultResource:
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("not read here")
    return VaultResource(address=address, ca_file=str(ca_file), approle_file=str(tmp_path / "approle-pipeline.json"),
                         duty=duty)


def test_each_duty_logs_in_with_the_approle_file_beside_the_pipelines(tmp_path):
    assert vault(tmp_path, "pipeline").where().vault_approle_file == tmp_path / "approle-pipeline.json"
    assert vault(tmp_path, "erasure").where().vault_approle_file == tmp_path / "approle-erasure.json"
    assert vault(tmp_path, "key-release").where().vault_approle_file == tmp_path / "approle-key-release.json"


def test_a_vault_resource_refuses_what_the_settings_refuse(tmp_path):
    with pytest.raises(SettingsError, match="must be https://"):
        vault(tmp_path, "pipeline", address="http://vault.example:8200").where()
    with pytest.raises(SettingsError, match="unknown Vault duty"):
        vault(tmp_path, "superuser").where()


def test_the_code_location_has_one_vault_resource_per_duty_it_uses():
    resources = code_location_resources()
    assert {name: resources[name].duty for name in VAULT_DUTIES} == {
        "pipeline_vault": "pipeline", "erasure_vault": "erasure", "key_release_vault": "key-release",
        "rotation_vault": "rotation", "compliance_vault": "compliance"}
    assert {"warehouse", "landing_zone"} <= set(resources)


# What opening Vault, the warehouse or a session by hand looks like; only resources.py may do it in defs/.
BYPASSES = re.compile(r"\bVault\(|\bopen_session\(|\bconnect\(settings|\bSettings\.from_env\(|\.for_duty\(")


def test_no_asset_op_check_or_sensor_opens_vault_or_the_warehouse_but_through_the_resources():
    modules = [path for path in sorted(DEFS.glob("*.py")) if path.name != "resources.py"]
    found = [f"{path.name}:{number}: {line.strip()}" for path in modules
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if BYPASSES.search(line)]
    assert found == []
