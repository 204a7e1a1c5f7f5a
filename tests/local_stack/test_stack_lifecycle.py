"""`up` is idempotent, secrets survive `down` + `up`, `down` leaves no process behind, errors are clear."""

from __future__ import annotations

import os
import re
import socket
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from local_stack import Stack, StackConfig, StackError
from local_stack.cli import app
from local_stack.ports import free_port, port_is_free
from local_stack.processes import pid_alive
from local_stack.vault import approle_login, read_secret
from local_stack.vault_layout import KV_MOUNT

pytestmark = pytest.mark.integration


def _pids(stack: Stack) -> dict[str, int]:
    return {row.name: row.pid for row in stack.status(show=False) if row.running}


def test_up_twice_keeps_the_same_processes(stack: Stack) -> None:
    before = _pids(stack)
    approle_before = stack.config.approle_file("pipeline").read_text()
    stack.up()
    assert _pids(stack) == before
    assert set(before) >= {"postgres", "vault"}
    # The stored secret_id still logs in, so it is reused rather than reissued.
    assert stack.config.approle_file("pipeline").read_text() == approle_before


def test_secrets_survive_down_and_up(stack: Stack) -> None:
    onboarding = approle_login(stack.config, "onboarding")
    onboarding.secrets.kv.v2.create_or_update_secret(
        path="tenants/persist/spapi", secret={"refresh_token": "Atzr|persist"}, mount_point=KV_MOUNT)

    stack.down()
    stack.up()

    pipeline = approle_login(stack.config, "pipeline")
    secret = read_secret(pipeline, "tenants/persist/spapi")
    assert secret == {"refresh_token": "Atzr|persist"}


def test_analyst_logins_are_issued_after_down_and_up_with_the_password_openbao_rotated(stack: Stack) -> None:
    """The issuer's first password is rotated away by OpenBao; a restart neither needs nor resets it."""
    import psycopg

    from orchestration.serve.analyst_logins import ALL_TENANTS_VAULT_ROLE, MOUNT

    stack.down()
    stack.up()
    issuer = approle_login(stack.config, "analyst-issuer")
    login = issuer.read(f"{MOUNT}/creds/{ALL_TENANTS_VAULT_ROLE}")["data"]
    with psycopg.connect(host="localhost", port=stack.config.pg_port, dbname="warehouse", user=login["username"],
                         password=login["password"], sslmode="verify-full", sslrootcert=str(stack.config.ca_file),
                         ) as conn:
        assert conn.execute("select pg_has_role(current_user, 'all_tenants_analyst', 'member')").fetchone() == (True,)


def test_down_leaves_no_process_behind(stack: Stack) -> None:
    pids = _pids(stack)
    assert pids
    stopped = stack.down()
    try:
        assert set(stopped) == set(pids)
        assert [name for name, pid in pids.items() if pid_alive(pid)] == []
        assert not any(row.running for row in stack.status(show=False))
        assert list(stack.config.run_dir.glob("*.pid")) == []
    finally:
        stack.up()  # later tests in the session expect a running stack


def test_a_port_taken_by_another_program_gives_a_clear_error(stack_config: StackConfig) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        data_dir = stack_config.data_dir.parent / "port-clash"
        config = StackConfig(data_dir=data_dir, pg_port=port, vault_port=free_port(), with_sandbox=False)
        try:
            with pytest.raises(StackError, match=f"port {port} .* already in use"):
                Stack(config).up()
        finally:
            Stack(config).clean()


def test_a_port_clash_names_the_setting_that_moves_the_service_and_make_run_honours_it(
    stack_config: StackConfig,
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        data_dir = stack_config.data_dir.parent / "port-clash-env"
        # As `RETKEE_PG_PORT=... make run` calls it: the port comes from the environment, not an option.
        result = CliRunner().invoke(app, ["up", "--data-dir", str(data_dir), "--no-sandbox"],
                                    env={"RETKEE_PG_PORT": str(port), "RETKEE_VAULT_PORT": str(free_port())})
        try:
            assert result.exit_code != 0
            assert f"port {port} on 127.0.0.1 is already in use" in result.output
            suggested = re.search(r"`RETKEE_PG_PORT=(\d+) make run`", result.output)
            assert suggested and port_is_free(int(suggested.group(1))), result.output
        finally:
            Stack(StackConfig(data_dir=data_dir)).clean()


def test_clean_refuses_a_directory_local_stack_did_not_create(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(StackError, match="refusing to delete"):
        Stack(StackConfig(data_dir=tmp_path)).clean()
    assert (tmp_path / "precious.txt").exists()


def test_cli_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("up", "down", "status", "clean"):
        assert command in result.output


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the cluster to the `retkee` OS user")
def test_a_data_dir_the_postgres_user_cannot_enter_is_named_in_the_error(
    stack_config: StackConfig, monkeypatch
) -> None:
    monkeypatch.setenv("RETKEE_NO_CHMOD", "1")
    closed = stack_config.data_dir.parent / "closed"
    closed.mkdir(mode=0o700)
    with pytest.raises(StackError, match=f"cannot enter {closed}"):
        Stack(StackConfig(data_dir=closed / "data", pg_port=free_port(), with_sandbox=False)).up()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the cluster to the `retkee` OS user")
def test_a_closed_directory_we_own_gets_search_permission_only(stack_config: StackConfig) -> None:
    from local_stack.osuser import require_traversable, resolve_pg_user

    closed = stack_config.data_dir.parent / "closed-but-ours"
    closed.mkdir(mode=0o700)
    require_traversable(resolve_pg_user("retkee"), closed / "data")
    assert stat.S_IMODE(closed.stat().st_mode) == 0o701


def test_files_holding_secrets_are_owner_only(stack: Stack) -> None:
    c = stack.config
    secret_files = [c.pg_superuser_file, c.dagster_pg_file, c.vault_bootstrap_file, c.pki_dir / "ca-key.pem",
                    *(c.approle_file(duty) for duty in ("pipeline", "onboarding", "erasure")),
                    *(c.key_file(service) for service in ("postgres", "vault", "sandbox"))]
    assert {str(p): p.stat().st_mode & 0o777 for p in secret_files} == {str(p): 0o600 for p in secret_files}
