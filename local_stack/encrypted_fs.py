"""The warehouse's disk encryption: PostgreSQL's data dir (WAL included) on a gocryptfs mount (AES-256-GCM, FUSE).

`.data/pg/data.crypt` is the backing directory: only ciphertext and encrypted file names ever reach the disk.
`.data/pg/data` (the cluster's data dir, `StackConfig.pg_data_dir`) is its decrypted view, mounted by `up`
before PostgreSQL starts and unmounted by `down` after it stops. The master key is wrapped by a random
password kept in Vault only (`WAREHOUSE_DISK_PATH`); it reaches gocryptfs through a pipe on its standard input,
never through a file. docs/security.md ("Encryption at rest") says what production uses instead.

Without FUSE or gocryptfs (or with RETKEE_WAREHOUSE_PLAIN_DISK=1, which the at-rest benchmark and the
plain-disk control of the raw-scan test use) a new cluster is created on plain disk and `up` says so in one
line; a cluster created encrypted is never opened any other way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from local_stack.config import StackConfig
from local_stack.errors import StackError
from local_stack.osuser import PgUser

PLAIN_DISK_VARIABLE = "RETKEE_WAREHOUSE_PLAIN_DISK"
FS_TYPE = "fuse.gocryptfs"
# The password is 256 random bits, so scrypt's key stretching adds nothing but start-up time (about 0.5 s and
# 64 MiB at gocryptfs' default N=2^16); 2^10 is gocryptfs' minimum. Every throwaway stack pays this at `up`.
_SCRYPT_LOG_N = "10"


def cipher_dir(config: StackConfig) -> Path:
    """The backing directory: what is on disk."""
    return config.pg_dir / "data.crypt"


def plain_disk_reason() -> str | None:
    """Why a new cluster is to be made on plain disk (no FUSE here, or asked for), or None."""
    if os.environ.get(PLAIN_DISK_VARIABLE) == "1":
        return f"{PLAIN_DISK_VARIABLE}=1"
    return unavailable_reason()


def unavailable_reason() -> str | None:
    """Why this machine cannot mount the encrypted warehouse, or None when it can."""
    if shutil.which("gocryptfs") is None:
        return "gocryptfs is not installed (apt-get install gocryptfs fuse3)"
    if shutil.which("fusermount3") is None and shutil.which("fusermount") is None:
        return "fusermount3 is not installed (apt-get install fuse3)"
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse does not exist (no FUSE on this machine)"
    return None


def is_encrypted(config: StackConfig) -> bool:
    """True when this data dir's cluster lives (or will live) in the encrypted backing directory."""
    return (cipher_dir(config) / "gocryptfs.conf").exists()


MOUNTINFO = Path("/proc/self/mountinfo")


def is_mounted(mount_point: Path) -> bool:
    """True when a gocryptfs file system is mounted exactly at `mount_point` (per /proc/self/mountinfo)."""
    mount = _mount_in_force(mount_point)
    return mount is not None and mount[0] == FS_TYPE


def _mount_in_force(mount_point: Path) -> tuple[str, list[str]] | None:
    """(file system type, super options) of the mount in force at `mount_point`, or None."""
    target = str(Path(mount_point).resolve())
    try:
        lines = MOUNTINFO.read_text().splitlines()
    except OSError:
        return None
    found = None
    for line in lines:
        fields = line.split(" ")
        separator = fields.index("-")
        if fields[4].replace("\\040", " ") == target:
            found = fields[separator + 1], fields[separator + 3].split(",")  # the last one on a point is in force
    return found


def create(config: StackConfig, user: PgUser, password: str) -> None:
    """Initialise an empty backing directory (gocryptfs -init). Only for a data dir without a cluster."""
    directory = cipher_dir(config)
    directory.mkdir(parents=True, exist_ok=True)
    # PostgreSQL insists that its data dir be owned by itself and 0700: the mounted root mirrors this dir.
    directory.chmod(0o700)
    user.chown(directory)
    _gocryptfs(config, ["-init", "-q", "-scryptn", _SCRYPT_LOG_N, str(directory)], password, "gocryptfs -init")


def mount(config: StackConfig, user: PgUser, password: str) -> None:
    """Mount the backing directory on the data dir (idempotent); a stale mount of a dead daemon is replaced."""
    mount_point = config.pg_data_dir
    if is_mounted(mount_point):
        try:
            os.stat(mount_point)
            return
        except OSError:  # "Transport endpoint is not connected": the daemon died (killed test, reboot)
            _fusermount(mount_point, lazy=True)
    mount_point.mkdir(parents=True, exist_ok=True)
    if any(mount_point.iterdir()):
        raise StackError(f"{mount_point} is not empty but should be the mount point of the encrypted warehouse "
                         f"({cipher_dir(config)}); move its contents away or run `clean`.")
    mount_point.chmod(0o700)
    user.chown(mount_point)
    options = ["-q", "-nosyslog"]
    daemon = None
    if os.geteuid() == 0:
        # PostgreSQL runs as its own OS user, and the stack (root) reads the data dir too: allow_other, which
        # comes with default_permissions, so the kernel still checks file modes for everyone but root.
        options.append("-allow_other")
        if user.switch and users_may_allow_other():
            daemon = user  # see mount_owner: gocryptfs as root fails file creations now and then
            _give_backing_files_to(cipher_dir(config), user)
        else:
            say_mounted_as_root()
    _gocryptfs(config, [*options, str(cipher_dir(config)), str(mount_point)], password, "gocryptfs mount", daemon)
    deadline = time.monotonic() + 10
    while not is_mounted(mount_point):
        if time.monotonic() > deadline:
            raise StackError(f"gocryptfs returned but {mount_point} is not mounted; see {_log_file(config)}")
        time.sleep(0.05)


def mount_owner(mount_point: Path) -> int | None:
    """The uid of the process serving the mount (its ``user_id``), or None when it is not mounted.

    As root, gocryptfs 2.3 (Debian's) gives each created file its creator's owner by switching the
    credentials of its threads (PreserveOwner); a file system call on another thread can then fail with
    "Operation not permitted". PostgreSQL met this in CI as `could not create file "base/...": Operation not
    permitted` and crashed. Upstream fixed it in 2.5.2 (rfjakob/gocryptfs#892). So when root brings the stack
    up, gocryptfs runs as PostgreSQL's OS user: every file it creates is that user's anyway.
    """
    mount = _mount_in_force(mount_point)
    if mount is None:
        return None
    return next((int(o.removeprefix("user_id=")) for o in mount[1] if o.startswith("user_id=")), None)


FUSE_CONF = Path("/etc/fuse.conf")


def users_may_allow_other() -> bool:
    """Let mounts of other users than root be reached by others (``user_allow_other``); root only.

    Writes the line into /etc/fuse.conf when missing, and says so; False when the file cannot be written."""
    try:
        text = FUSE_CONF.read_text() if FUSE_CONF.exists() else ""
        if any(line.strip() == "user_allow_other" for line in text.splitlines()):
            return True
        print(f"local_stack: adding user_allow_other to {FUSE_CONF}, so gocryptfs can run as PostgreSQL's user")
        with FUSE_CONF.open("a") as conf:
            conf.write(("" if not text or text.endswith("\n") else "\n") + "user_allow_other\n")
        return True
    except OSError:
        return False


def say_mounted_as_root() -> None:
    print(f"local_stack: gocryptfs runs as root ({FUSE_CONF} lacks user_allow_other and cannot be changed): "
          "gocryptfs before 2.5.2 may then fail a file creation now and then", file=sys.stderr)


def _give_backing_files_to(directory: Path, user: PgUser) -> None:
    """A backing dir made when gocryptfs ran as root holds root's files (gocryptfs.conf first): the user's now.

    gocryptfs.conf is handed over last, so its owner says whether the walk is done; a mount at every `up`
    then costs one stat, not a walk of the whole warehouse."""
    conf = directory / "gocryptfs.conf"
    if conf.lstat().st_uid == user.uid:
        return
    for path in [directory, *directory.rglob("*")]:
        if path != conf and path.lstat().st_uid != user.uid:
            os.chown(path, user.uid, user.gid, follow_symlinks=False)
    os.chown(conf, user.uid, user.gid, follow_symlinks=False)


def unmount(config: StackConfig) -> bool:
    """Unmount the data dir if mounted; returns whether it was. PostgreSQL must be stopped first."""
    mount_point = config.pg_data_dir
    if not is_mounted(mount_point):
        return False
    for attempt in range(20):
        if _fusermount(mount_point, lazy=False):
            break
        time.sleep(0.1 * (attempt + 1))  # a postgres child that has not exited yet still holds a file
    else:
        # Detached now, gone once the last file is closed; the backing dir holds nothing but ciphertext.
        _fusermount(mount_point, lazy=True)
    return True


def _fusermount(mount_point: Path, lazy: bool) -> bool:
    tool = shutil.which("fusermount3") or shutil.which("fusermount") or "fusermount3"
    argv = [tool, "-u", *(["-z"] if lazy else []), str(mount_point)]
    return subprocess.run(argv, capture_output=True, check=False).returncode == 0  # noqa: S603


def _log_file(config: StackConfig) -> Path:
    return config.log_dir / "gocryptfs.log"


def _gocryptfs(config: StackConfig, args: list[str], password: str, what: str, user: PgUser | None = None) -> None:
    """Run gocryptfs (as ``user`` if given); the password goes to its standard input, which it reads when that
    is not a terminal (``-passfile /dev/stdin`` would not do for another user: the pipe is root's)."""
    config.log_dir.mkdir(parents=True, exist_ok=True)
    log = _log_file(config)
    # The daemon gocryptfs forks keeps its output open: a file, never a pipe we would wait on forever.
    with open(log, "ab") as output:
        result = subprocess.run(  # noqa: S603 - fixed argv
            [shutil.which("gocryptfs") or "gocryptfs", *args], input=password.encode(), stdout=output,
            stderr=output, check=False, start_new_session=True, timeout=60, **(user.run_kwargs() if user else {}),
        )
    if result.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        raise StackError(f"{what} failed (exit {result.returncode}): {' / '.join(tail)}\nlog: {log}")


def say_not_encrypted(reason: str) -> None:
    print(f"local_stack: the warehouse is NOT encrypted at rest ({reason})", file=sys.stderr)
