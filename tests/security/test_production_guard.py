"""A production configuration refuses to start on the local stack's development defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestration.settings import Settings, SettingsError, environment, refuse_dev_defaults

PLANTED_PASSWORD = "Sh0rtPlanted9"  # 13 characters: too short for production, and must never be echoed


def _ca(path: Path, organization: str) -> Path:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"{organization} CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture()
def production_settings(tmp_path) -> Settings:
    (tmp_path / "vault").mkdir()
    approle = tmp_path / "vault" / "approle-pipeline.json"
    approle.write_text(json.dumps({"role_id": "r", "secret_id": "s"}))
    return Settings(pg_host="db.internal", pg_port=5432, pg_database="warehouse",
                    ca_file=_ca(tmp_path / "corporate-ca.pem", "Example Corp PKI"),
                    vault_addr="https://vault.internal:8200", vault_approle_file=approle,
                    landing_dir=tmp_path / "landing")


def test_a_clean_production_configuration_is_accepted(production_settings):
    refuse_dev_defaults(production_settings, environ={"DAGSTER_PG_PASSWORD": "x" * 40,
                                                      "RETKEE_WAREHOUSE_ENCRYPTED_AT_REST": "rds-kms"})


@pytest.mark.parametrize("attested", [None, "", "no", "false", "off", "plain"])
def test_a_warehouse_nobody_attested_as_encrypted_at_rest_is_refused(production_settings, attested):
    environ = {"DAGSTER_PG_PASSWORD": "x" * 40}
    if attested is not None:
        environ["RETKEE_WAREHOUSE_ENCRYPTED_AT_REST"] = attested
    with pytest.raises(SettingsError, match="RETKEE_WAREHOUSE_ENCRYPTED_AT_REST does not say how"):
        refuse_dev_defaults(production_settings, environ=environ)


def test_the_local_stack_ca_is_refused(production_settings, tmp_path):
    local_ca = _ca(tmp_path / "ca.pem", "Retkee local stack")
    with pytest.raises(SettingsError, match="self-signed CA"):
        refuse_dev_defaults(Settings(**{**production_settings.__dict__, "ca_file": local_ca}), environ={})


def test_anything_under_a_local_data_dir_is_refused(production_settings, tmp_path):
    data = tmp_path / ".data" / "landing"
    with pytest.raises(SettingsError, match="RETKEE_LANDING_DIR points into a local-stack data dir"):
        refuse_dev_defaults(Settings(**{**production_settings.__dict__, "landing_dir": data}), environ={})


def test_a_root_token_file_beside_the_approle_file_is_refused(production_settings):
    bootstrap = production_settings.vault_approle_file.with_name("bootstrap.json")
    bootstrap.write_text(json.dumps({"unseal_key": "k", "root_token": "s.PLANTEDROOTTOKEN0000"}))
    with pytest.raises(SettingsError, match="root token file") as refused:
        refuse_dev_defaults(production_settings, environ={})
    assert "PLANTEDROOTTOKEN" not in str(refused.value)


@pytest.mark.parametrize("variable", ["VAULT_TOKEN", "BAO_TOKEN", "RETKEE_VAULT_TOKEN"])
def test_a_vault_token_in_the_environment_is_refused(production_settings, variable):
    with pytest.raises(SettingsError, match=variable) as refused:
        refuse_dev_defaults(production_settings, environ={variable: "hvs.PLANTEDTOKENVALUE"})
    assert "PLANTEDTOKENVALUE" not in str(refused.value)


@pytest.mark.parametrize("password", ["postgres", "dagster", "changeme", PLANTED_PASSWORD])
def test_default_or_short_database_passwords_are_refused_without_echoing_them(production_settings, password):
    with pytest.raises(SettingsError, match="DAGSTER_PG_PASSWORD is a default or short password") as refused:
        refuse_dev_defaults(production_settings, environ={"DAGSTER_PG_PASSWORD": password})
    assert PLANTED_PASSWORD not in str(refused.value)


def test_from_env_applies_the_guard_only_in_production(production_settings, tmp_path, monkeypatch):
    local_ca = _ca(tmp_path / "ca.pem", "Retkee local stack")
    for name, value in {"RETKEE_CA_FILE": str(local_ca), "RETKEE_VAULT_ADDR": "https://127.0.0.1:1",
                        "RETKEE_VAULT_APPROLE_FILE": str(production_settings.vault_approle_file),
                        "RETKEE_LANDING_DIR": str(tmp_path / "landing")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("RETKEE_ENV", "local")
    assert Settings.from_env().ca_file == local_ca
    monkeypatch.setenv("RETKEE_ENV", "production")
    with pytest.raises(SettingsError, match="self-signed CA"):
        Settings.from_env()


def test_an_unknown_environment_name_is_refused():
    with pytest.raises(SettingsError, match="RETKEE_ENV must be one of"):
        environment({"RETKEE_ENV": "prod"})


def test_vault_must_be_https(monkeypatch, production_settings):
    monkeypatch.setenv("RETKEE_CA_FILE", str(production_settings.ca_file))
    monkeypatch.setenv("RETKEE_VAULT_ADDR", "http://vault.internal:8200")
    monkeypatch.setenv("RETKEE_VAULT_APPROLE_FILE", str(production_settings.vault_approle_file))
    monkeypatch.setenv("RETKEE_LANDING_DIR", str(production_settings.landing_dir))
    with pytest.raises(SettingsError, match="must be https://"):
        Settings.from_env()
