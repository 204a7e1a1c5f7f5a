"""`retkee` finds the local stack's settings itself: the settings file fills what the environment lacks, and
Dagster's storage password comes from its own secret file; anything missing is named in one line."""

from __future__ import annotations

import json

import pytest

from orchestration.settings import SettingsError, load_settings_file, require_dagster_storage

STORAGE = {"DAGSTER_HOME": "/d", "DAGSTER_PG_HOST": "localhost", "DAGSTER_PG_PORT": "5432",
           "DAGSTER_PG_DB": "dagster", "DAGSTER_PG_USERNAME": "dagster"}


def test_the_local_settings_file_fills_only_what_the_environment_lacks(tmp_path):
    (tmp_path / ".data").mkdir()
    (tmp_path / ".data" / "local.env").write_text(
        "# Written by `python -m local_stack up`. Non-secret settings only\n\nRETKEE_PG_PORT=55432\nRETKEE_X=a=b\n"
    )
    environ = {"RETKEE_PG_PORT": "6000"}
    assert load_settings_file(environ, cwd=tmp_path) == tmp_path / ".data" / "local.env"
    assert environ == {"RETKEE_PG_PORT": "6000", "RETKEE_X": "a=b"}  # the comment line exported nothing


def test_no_settings_file_in_the_directory_changes_nothing(tmp_path):
    environ: dict[str, str] = {}
    assert load_settings_file(environ, cwd=tmp_path) is None
    assert environ == {}


def test_production_never_reads_a_settings_file_lying_in_the_directory(tmp_path):
    (tmp_path / ".data").mkdir()
    (tmp_path / ".data" / "local.env").write_text("RETKEE_PG_PORT=55432\n")
    environ = {"RETKEE_ENV": "production"}
    assert load_settings_file(environ, cwd=tmp_path) is None
    assert "RETKEE_PG_PORT" not in environ


def test_a_named_settings_file_must_exist_and_hold_only_key_value_lines(tmp_path):
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings_file({"RETKEE_SETTINGS_FILE": str(tmp_path / "nope.env")}, cwd=tmp_path)
    bad = tmp_path / "bad.env"
    bad.write_text("RETKEE_A=1\nexport hunter2\n")
    with pytest.raises(SettingsError, match=r"bad.env:2 is not a KEY=value line") as caught:
        load_settings_file({"RETKEE_SETTINGS_FILE": str(bad)}, cwd=tmp_path)
    assert "hunter2" not in str(caught.value)


def test_the_dagster_password_is_read_from_its_secret_file(tmp_path):
    secret = tmp_path / "dagster-pg.json"
    secret.write_text(json.dumps({"username": "dagster", "password": "s3cret-from-file"}))
    environ = {**STORAGE, "DAGSTER_PG_PASSWORD_FILE": str(secret)}
    require_dagster_storage(environ)
    assert environ["DAGSTER_PG_PASSWORD"] == "s3cret-from-file"
    plain = tmp_path / "password.txt"
    plain.write_text("plain-secret\n")
    environ = {**STORAGE, "DAGSTER_PG_PASSWORD_FILE": str(plain)}
    require_dagster_storage(environ)
    assert environ["DAGSTER_PG_PASSWORD"] == "plain-secret"


def test_missing_dagster_storage_settings_are_named_in_one_line():
    with pytest.raises(SettingsError) as caught:
        require_dagster_storage({"DAGSTER_HOME": "/d"})
    message = str(caught.value)
    assert "\n" not in message
    for name in ("DAGSTER_PG_HOST", "DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD"):
        assert name in message
    assert "DAGSTER_HOME," not in message
    with pytest.raises(SettingsError, match="cannot be read"):
        require_dagster_storage({**STORAGE, "DAGSTER_PG_PASSWORD_FILE": "/nonexistent/dagster-pg.json"})
