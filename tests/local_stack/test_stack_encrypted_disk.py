"""The warehouse's data dir is a gocryptfs mount: mounted by `up`, gone after `down`, back after `up`; its
password is in Vault only, readable by no duty, and on no file of the data dir."""

from __future__ import annotations

import os
from pathlib import Path

import hvac.exceptions
import pytest

from local_stack import Stack, encrypted_fs
from local_stack.vault import approle_login, read_secret
from local_stack.vault_layout import DUTIES, WAREHOUSE_DISK_PATH

pytestmark = pytest.mark.integration


def _mount_line(stack: Stack) -> str:
    target = str(stack.config.pg_data_dir)
    lines = [line for line in open("/proc/self/mountinfo").read().splitlines() if line.split(" ")[4] == target]
    assert len(lines) == 1, lines
    return lines[0]


def _bytes_of(path) -> bytes:
    try:
        return path.read_bytes() if path.is_file() and not path.is_symlink() else b""
    except FileNotFoundError:  # a temporary file of the server, gone between listing and reading
        return b""


def test_the_data_dir_is_an_encrypted_mount_of_the_backing_dir(stack: Stack) -> None:
    if encrypted_fs.plain_disk_reason() is not None:
        pytest.skip(f"plain disk here: {encrypted_fs.plain_disk_reason()}")
    line = _mount_line(stack)
    assert f" - {encrypted_fs.FS_TYPE} {encrypted_fs.cipher_dir(stack.config)} " in line
    assert stack.warehouse_encrypted
    # The cluster is there in the decrypted view; the backing dir holds no name PostgreSQL wrote in clear.
    assert (stack.config.pg_data_dir / "PG_VERSION").exists()
    backing_names = {p.name for p in encrypted_fs.cipher_dir(stack.config).rglob("*")}
    assert backing_names.isdisjoint({"PG_VERSION", "pg_wal", "base", "postgresql.conf", "retkee.conf"})
    with stack._postgres(install=False).connect() as conn:  # noqa: SLF001 - the stack's admin connection
        assert conn.execute("show wal_recycle").fetchone()[0] == "off"


def test_gocryptfs_serves_the_mount_as_postgres_own_os_user(stack: Stack) -> None:
    """Not as root: gocryptfs 2.3 as root fails a file creation now and then (see encrypted_fs.mount_owner)."""
    if encrypted_fs.plain_disk_reason() is not None:
        pytest.skip(f"plain disk here: {encrypted_fs.plain_disk_reason()}")
    owner = stack.config.pg_data_dir.stat().st_uid
    assert encrypted_fs.mount_owner(stack.config.pg_data_dir) == owner
    if os.geteuid() == 0:
        assert owner != 0
        serving = [
            p for p in Path("/proc").glob("[0-9]*")
            if (argv := _argv(p))[:1] and Path(argv[0]).name == "gocryptfs" and str(stack.config.pg_data_dir) in argv
        ]
        assert serving and all(p.stat().st_uid == owner for p in serving)


def _argv(process: Path) -> list[str]:
    try:
        return Path(process, "cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:  # gone meanwhile
        return []


def test_down_unmounts_and_up_mounts_again(stack: Stack) -> None:
    if encrypted_fs.plain_disk_reason() is not None:
        pytest.skip(f"plain disk here: {encrypted_fs.plain_disk_reason()}")
    try:
        stack.down()
        assert not encrypted_fs.is_mounted(stack.config.pg_data_dir)
        assert list(stack.config.pg_data_dir.iterdir()) == []
    finally:
        stack.up()
    assert encrypted_fs.is_mounted(stack.config.pg_data_dir)
    assert (stack.config.pg_data_dir / "PG_VERSION").exists()


def test_the_disk_password_is_in_vault_only(stack: Stack) -> None:
    if not encrypted_fs.is_encrypted(stack.config):
        pytest.skip("plain disk here")
    password = stack.vault.read_kv(WAREHOUSE_DISK_PATH)["password"].encode()
    assert len(password) >= 32
    assert [str(p) for p in stack.config.data_dir.rglob("*") if password in _bytes_of(p)] == []
    for duty in DUTIES:
        client = approle_login(stack.config, duty)
        try:
            with pytest.raises(hvac.exceptions.Forbidden):
                read_secret(client, WAREHOUSE_DISK_PATH)
        finally:
            client.auth.token.revoke_self()
