"""RETKEE_EXECUTOR and the Celery broker's settings: one spelling per choice, TLS-only broker URLs without
credentials, the password read from its file only, and the local stack handing the same settings to every process."""

from __future__ import annotations

import ssl

import pytest

from orchestration.settings import CeleryBroker, SettingsError, executor


def test_the_executor_defaults_to_in_process_and_refuses_a_typo():
    assert executor({}) == "in_process"
    assert executor({"RETKEE_EXECUTOR": "celery"}) == "celery"
    with pytest.raises(SettingsError, match="RETKEE_EXECUTOR must be one of in_process, celery"):
        executor({"RETKEE_EXECUTOR": "Celery"})


def _broker_env(tmp_path, url="rediss://localhost:56379/0", password='{"password": "p/a:s@s"}'):
    (tmp_path / "broker.json").write_text(password)
    (tmp_path / "ca.pem").write_text("")
    return {"RETKEE_CELERY_BROKER_URL": url, "RETKEE_CELERY_BROKER_PASSWORD_FILE": str(tmp_path / "broker.json"),
            "RETKEE_CA_FILE": str(tmp_path / "ca.pem")}


def test_the_broker_url_gets_the_password_from_its_file_quoted(tmp_path):
    broker = CeleryBroker.from_env(_broker_env(tmp_path))
    assert broker.url == "rediss://localhost:56379/0"  # what settings and logs may show: no password
    assert broker.url_with_password() == "rediss://:p%2Fa%3As%40s@localhost:56379/0"


@pytest.mark.parametrize("url, refusal", [
    ("redis://localhost:56379/0", "must be rediss://"),
    ("rediss://:secret@localhost:56379/0", "must not hold credentials"),
    ("rediss://user@localhost:56379/0", "must not hold credentials"),
])
def test_the_broker_url_must_be_tls_and_hold_no_credentials(tmp_path, url, refusal):
    with pytest.raises(SettingsError, match=refusal):
        CeleryBroker.from_env(_broker_env(tmp_path, url=url))


def test_a_missing_broker_setting_is_named(tmp_path):
    env = _broker_env(tmp_path)
    del env["RETKEE_CELERY_BROKER_PASSWORD_FILE"]
    with pytest.raises(SettingsError, match="needs RETKEE_CELERY_BROKER_PASSWORD_FILE"):
        CeleryBroker.from_env(env)


def test_an_empty_password_file_is_refused_without_its_content(tmp_path):
    broker = CeleryBroker.from_env(_broker_env(tmp_path, password='{"password": ""}'))
    with pytest.raises(SettingsError, match="RETKEE_CELERY_BROKER_PASSWORD_FILE .* holds no password"):
        broker.url_with_password()


def test_clients_verify_the_broker_certificate_and_name_at_tls_1_2_or_newer(tmp_path):
    options = CeleryBroker.from_env(_broker_env(tmp_path)).tls_options()
    assert options["ssl_cert_reqs"] == ssl.CERT_REQUIRED and options["ssl_check_hostname"] is True
    assert options["ssl_min_version"] >= ssl.TLSVersion.TLSv1_2
    assert options["ssl_ca_certs"] == str(tmp_path / "ca.pem")


def test_the_code_location_keeps_dagsters_default_executor_unless_celery_is_chosen(monkeypatch):
    from orchestration.defs.executor import celery_executor_from_settings, run_executor

    monkeypatch.delenv("RETKEE_EXECUTOR", raising=False)
    assert run_executor() is None
    monkeypatch.setenv("RETKEE_EXECUTOR", "celery")
    assert run_executor() is celery_executor_from_settings


def test_the_local_stack_gives_every_process_the_same_executor_settings(tmp_path):
    from local_stack.config import StackConfig
    from local_stack.settings import pipeline_env

    in_process = pipeline_env(StackConfig(data_dir=tmp_path / "a"))
    assert in_process["RETKEE_EXECUTOR"] == "in_process" and "RETKEE_CELERY_BROKER_URL" not in in_process
    config = StackConfig(data_dir=tmp_path / "b", redis_port=50001, executor="celery")
    env = pipeline_env(config)
    assert env["RETKEE_EXECUTOR"] == "celery"
    assert env["RETKEE_CELERY_BROKER_URL"] == "rediss://localhost:50001/0"
    assert env["RETKEE_CELERY_BROKER_PASSWORD_FILE"] == str(config.celery_broker_file)


def test_the_stack_refuses_an_executor_it_does_not_know(tmp_path):
    from local_stack.config import StackConfig
    from local_stack.errors import StackError

    with pytest.raises(StackError, match="RETKEE_EXECUTOR must be one of"):
        StackConfig(data_dir=tmp_path, executor="threads")


def test_a_worker_takes_one_step_at_a_time_and_says_its_name():
    from orchestration.celery_worker import worker_argv

    argv = worker_argv("celery-worker-2", 1)
    assert argv[argv.index("--hostname") + 1] == "celery-worker-2@%h"
    assert argv[argv.index("--concurrency") + 1] == "1" and argv[argv.index("--prefetch-multiplier") + 1] == "1"
