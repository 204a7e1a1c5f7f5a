"""As root, the stack lets gocryptfs run as PostgreSQL's OS user: /etc/fuse.conf must allow `user_allow_other`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from local_stack import encrypted_fs


@pytest.fixture
def fuse_conf(tmp_path, monkeypatch):
    path = tmp_path / "fuse.conf"
    monkeypatch.setattr(encrypted_fs, "FUSE_CONF", path)
    return path


def test_the_line_is_added_once_and_the_rest_is_kept(fuse_conf, capsys):
    fuse_conf.write_text("# comment\n#user_allow_other\nmount_max = 1000")
    assert encrypted_fs.users_may_allow_other()
    assert encrypted_fs.users_may_allow_other()
    assert fuse_conf.read_text() == "# comment\n#user_allow_other\nmount_max = 1000\nuser_allow_other\n"
    assert capsys.readouterr().out.count("adding user_allow_other") == 1


def test_a_missing_file_is_created(fuse_conf):
    assert encrypted_fs.users_may_allow_other()
    assert fuse_conf.read_text() == "user_allow_other\n"


def test_a_file_that_cannot_be_written_means_no(fuse_conf):
    fuse_conf.mkdir()  # reading and appending both fail
    assert not encrypted_fs.users_may_allow_other()


def test_the_mount_owner_is_read_from_the_super_options(tmp_path, monkeypatch):
    info = tmp_path / "mountinfo"
    info.write_text(
        "26 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
        "46 27 0:41 / /srv/pg/data rw,nosuid,nodev,relatime - fuse.gocryptfs /srv/pg/data.crypt "
        "rw,user_id=999,group_id=995,default_permissions,allow_other,max_read=131072\n"
    )
    monkeypatch.setattr(encrypted_fs, "MOUNTINFO", info)
    assert encrypted_fs.mount_owner(Path("/srv/pg")) is None
    assert encrypted_fs.mount_owner(Path("/srv/pg/data")) == 999


@pytest.mark.skipif(os.geteuid() != 0, reason="handing files to another user needs root")
def test_a_backing_dir_made_by_root_is_handed_over_once(tmp_path):
    from local_stack.osuser import PgUser

    user = PgUser("nobody", 65534, 65534, frozenset({65534}), switch=True)
    (tmp_path / "gocryptfs.conf").write_text("{}")
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "file").write_bytes(b"x")
    encrypted_fs._give_backing_files_to(tmp_path, user)  # noqa: SLF001 - the step `mount` takes as root
    assert {p.lstat().st_uid for p in [tmp_path, *tmp_path.rglob("*")]} == {65534}
    (tmp_path / "later").write_bytes(b"y")  # a handed-over dir is not walked again
    encrypted_fs._give_backing_files_to(tmp_path, user)  # noqa: SLF001
    assert (tmp_path / "later").lstat().st_uid == 0
