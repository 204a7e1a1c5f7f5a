"""The unprivileged OS user that owns the PostgreSQL cluster.

PostgreSQL refuses to run as root. When the stack is brought up by root (containers, CI) we create a system
user `retkee` and run initdb/pg_ctl as it; a developer running as themselves simply uses their own account.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from local_stack.errors import StackError


@dataclass(frozen=True)
class PgUser:
    name: str
    uid: int
    gid: int
    groups: frozenset[int]
    # True when we are root and must switch to this user for every PostgreSQL command.
    switch: bool

    def run_kwargs(self) -> dict:
        """Keyword arguments for subprocess.run/Popen that execute the command as this user."""
        if not self.switch:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": [], "umask": 0o077}

    def chown(self, path: Path) -> None:
        if self.switch:
            os.chown(path, self.uid, self.gid)


def resolve_pg_user(name: str) -> PgUser:
    """The user PostgreSQL runs as: `name` (created if missing) when root, else the current user."""
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return PgUser(entry.pw_name, entry.pw_uid, entry.pw_gid, frozenset(os.getgroups()), switch=False)
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        entry = _create_system_user(name)
    groups = {entry.pw_gid} | {g.gr_gid for g in grp.getgrall() if name in g.gr_mem}
    return PgUser(entry.pw_name, entry.pw_uid, entry.pw_gid, frozenset(groups), switch=True)


def pg_user_owning(data_dir: Path) -> PgUser:
    """The user of an existing cluster (its data dir's owner), so `down`/`status` never create users."""
    owner = data_dir.stat().st_uid
    if os.geteuid() == 0 and owner != 0:
        entry = pwd.getpwuid(owner)
        return PgUser(entry.pw_name, entry.pw_uid, entry.pw_gid, frozenset({entry.pw_gid}), switch=True)
    entry = pwd.getpwuid(os.geteuid())
    return PgUser(entry.pw_name, entry.pw_uid, entry.pw_gid, frozenset(os.getgroups()), switch=False)


def _create_system_user(name: str) -> pwd.struct_passwd:
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    nologin = shutil.which("nologin") or "/usr/sbin/nologin"
    argv = [useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
            "--shell", nologin, name]
    print(f"local_stack: creating system user {name!r} to run PostgreSQL (it refuses to run as root): "
          + " ".join(argv))
    result = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise StackError(f"could not create OS user {name!r}: {result.stderr.strip()}")
    return pwd.getpwnam(name)


def require_traversable(user: PgUser, path: Path) -> None:
    """Fail with a precise message if `user` cannot reach `path` (every ancestor needs the x bit)."""
    if not user.switch:
        return
    for directory in [*reversed(path.parents), path]:
        if not directory.exists():
            return
        info = directory.stat()
        if info.st_uid == user.uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid in user.groups:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed and info.st_uid == os.geteuid() and not os.environ.get("RETKEE_NO_CHMOD"):
            # We own it (root, who switches to the PostgreSQL user): grant search (x) only, never read,
            # so the cluster can reach its data dir. Said out loud; RETKEE_NO_CHMOD=1 refuses instead.
            directory.chmod(stat.S_IMODE(info.st_mode) | stat.S_IXOTH)
            print(f"local_stack: granted o+x (search only) on {directory} so PostgreSQL's OS user "
                  f"{user.name!r} can reach its data dir", file=sys.stderr)
            continue
        if not allowed:
            raise StackError(
                f"PostgreSQL runs as the OS user {user.name!r}, which cannot enter {directory} "
                f"(mode {stat.S_IMODE(info.st_mode):04o}, owner uid {info.st_uid}). "
                f"Fix: `chmod o+x {directory}`, or put the data dir elsewhere with RETKEE_DATA_DIR."
            )
