"""Planted secrets never reach logs, Dagster's event storage or exception messages."""

from __future__ import annotations

import json
import logging
import pickle

import pytest

from orchestration.secrets.redaction import Secret, install_log_redaction, remember
from orchestration.secrets.vault import Vault, VaultError
from orchestration.settings import Settings, SettingsError

PLANTED = "PLANTED-refresh-token-Atzr|q9Zx7Lm2Vb"
PLANTED_SECRET_ID = "PLANTED-secret-id-4f1c2d9e"


def test_a_secret_never_prints_and_cannot_be_pickled():
    secret = Secret(PLANTED)
    assert PLANTED not in repr(secret) and PLANTED not in str(secret) and PLANTED not in f"{secret}"
    assert PLANTED not in repr({"token": secret})
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_python_logging_scrubs_a_registered_secret(caplog):
    install_log_redaction()
    remember(PLANTED)
    with caplog.at_level(logging.INFO):
        logging.getLogger("some.library").info("request body refresh_token=%s", PLANTED)
    assert caplog.records
    assert all(PLANTED not in r.getMessage() for r in caplog.records)
    assert "***redacted***" in caplog.text


def test_dagster_event_storage_never_holds_a_secret_logged_by_an_op():
    from dagster import DagsterInstance, job, op

    install_log_redaction()
    Secret(PLANTED)

    @op
    def leaky(context):
        context.log.info(f"calling SP-API with {PLANTED}")
        context.log.warning("retrying with token %s", PLANTED)

    @job
    def leaky_job():
        leaky()

    with DagsterInstance.ephemeral() as instance:
        result = leaky_job.execute_in_process(instance=instance)
        events = instance.all_logs(result.run_id)
    stored = [json.dumps(e.to_json() if hasattr(e, "to_json") else str(e)) for e in events] + [str(e) for e in events]
    assert any("***redacted***" in text for text in stored)
    assert not any(PLANTED in text for text in stored)


def _settings(tmp_path, approle_file, vault_addr="https://127.0.0.1:9") -> Settings:
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    return Settings(pg_host="localhost", pg_port=1, pg_database="warehouse", ca_file=ca, vault_addr=vault_addr,
                    vault_approle_file=approle_file, landing_dir=tmp_path)


def test_a_vault_login_failure_names_the_duty_and_never_the_secret_id(tmp_path):
    approle = tmp_path / "approle-pipeline.json"
    approle.write_text(json.dumps({"role_id": "role", "secret_id": PLANTED_SECRET_ID}))
    approle.chmod(0o600)
    with pytest.raises(VaultError) as failed:
        Vault(_settings(tmp_path, approle))
    message = str(failed.value) + repr(failed.value) + str(failed.value.__cause__ or "")
    assert "unreachable" in message or "failed" in message
    assert PLANTED_SECRET_ID not in message
    assert failed.value.__cause__ is None and failed.value.__suppress_context__  # `from None`: no chained payload


def test_an_approle_file_readable_by_others_is_refused_without_reading_it_out(tmp_path):
    approle = tmp_path / "approle-pipeline.json"
    approle.write_text(json.dumps({"role_id": "role", "secret_id": PLANTED_SECRET_ID}))
    approle.chmod(0o644)
    with pytest.raises(VaultError, match="readable by others") as refused:
        Vault(_settings(tmp_path, approle))
    assert PLANTED_SECRET_ID not in str(refused.value)


def test_a_missing_setting_names_the_variable_only(monkeypatch):
    monkeypatch.delenv("RETKEE_CA_FILE", raising=False)
    monkeypatch.setenv("RETKEE_VAULT_ADDR", f"https://{PLANTED}@vault")
    with pytest.raises(SettingsError, match="RETKEE_CA_FILE is not set") as failed:
        Settings.from_env()
    assert PLANTED not in str(failed.value)


def test_an_unknown_duty_is_refused(tmp_path):
    with pytest.raises(SettingsError, match="unknown Vault duty"):
        _settings(tmp_path, tmp_path / "approle-pipeline.json").for_duty("root")
