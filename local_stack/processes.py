"""PID-file supervision of the stack's long-running processes (OpenBao, the sandbox, Dagster).

Each process runs detached in its own session, logs to `.data/log/<name>.log` and has its PID in
`.data/run/<name>.pid` (just the number, so `kill $(cat ...)` works). A sidecar `<name>.json` records the
command line and the kernel start time, so a recycled PID is never mistaken for ours.
PostgreSQL is the exception: `pg_ctl` supervises it (see postgres.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from local_stack.config import StackConfig
from local_stack.errors import StackError


def pid_file(config: StackConfig, name: str) -> Path:
    return config.run_dir / f"{name}.pid"


def _meta_file(config: StackConfig, name: str) -> Path:
    return config.run_dir / f"{name}.json"


def log_file(config: StackConfig, name: str) -> Path:
    return config.log_dir / f"{name}.log"


def _proc_start_time(pid: int) -> str | None:
    """Kernel start time of `pid` (field 22 of /proc/<pid>/stat), or None when gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return fields[19]


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def pid_alive(pid: int) -> bool:
    """True if `pid` is a live (non-zombie) process."""
    if Path("/proc").is_dir():
        _reap(pid)
        return _proc_start_time(pid) is not None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap(pid: int) -> None:
    # Processes we started in this interpreter become zombies when they exit until someone waits.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def read_pid(config: StackConfig, name: str) -> int | None:
    try:
        return int(pid_file(config, name).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def is_running(config: StackConfig, name: str) -> bool:
    """True if the PID file of `name` points at a live process that is the one we started."""
    pid = read_pid(config, name)
    if pid is None or not pid_alive(pid):
        return False
    try:
        meta = json.loads(_meta_file(config, name).read_text())
    except (OSError, ValueError):
        meta = None
    if not Path("/proc").is_dir():
        return True
    cmdline = _cmdline(pid)
    names_in_cmdline = {Path(part).name for part in cmdline}
    if meta is None:
        # A PID file written by someone else (e.g. a hand-started Dagster): accept it if the command
        # line names the program family, `dagster` for `dagster-webserver`.
        family = name.split("-")[0]
        return any(family in part for part in names_in_cmdline)
    if meta.get("start_time") != _proc_start_time(pid):
        return False  # the PID was recycled by an unrelated process
    # An empty command line is transient (the process is in the middle of an exec): the start time
    # already proved it is ours.
    return not cmdline or Path(meta["argv"][0]).name in names_in_cmdline


def start_process(
    config: StackConfig,
    name: str,
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start `argv` detached under supervision as `name` and return its PID (existing one if running).

    Also used by orchestration for `dagster-webserver` and `dagster-daemon`: `Stack.down()` stops every
    process that has a PID file here.
    """
    if is_running(config, name):
        pid = read_pid(config, name)
        assert pid is not None
        return pid
    config.run_dir.mkdir(parents=True, exist_ok=True)
    config.log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_file(config, name)
    with open(log_path, "ab") as log:
        log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {name}\n".encode())
        log.flush()
        proc = subprocess.Popen(  # noqa: S603 - argv comes from our own code, never from a shell
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
        )
    pid_file(config, name).write_text(f"{proc.pid}\n")
    _meta_file(config, name).write_text(
        json.dumps({"pid": proc.pid, "argv": list(argv), "start_time": _proc_start_time(proc.pid)})
    )
    return proc.pid


def stop_process(config: StackConfig, name: str, timeout: float = 10.0) -> bool:
    """SIGTERM the process group of `name`, SIGKILL it after `timeout`; True if something was stopped."""
    pid = read_pid(config, name)
    stopped = False
    if pid is not None and is_running(config, name):
        terminate_group(pid, timeout)
        stopped = True
    pid_file(config, name).unlink(missing_ok=True)
    _meta_file(config, name).unlink(missing_ok=True)
    return stopped


def terminate_group(pid: int, timeout: float) -> None:
    """Stop the session leader `pid` and everything in its process group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid) and not _group_alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.05)


def _group_alive(pgid: int) -> bool:
    """True while any non-zombie process of group `pgid` remains."""
    if not Path("/proc").is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and fields[2] == str(pgid):
            return True
    return False


def supervised_names(config: StackConfig) -> list[str]:
    """Names of every process that has a PID file (ours and those orchestration started)."""
    if not config.run_dir.is_dir():
        return []
    return sorted(path.stem for path in config.run_dir.glob("*.pid"))


def log_tail(config: StackConfig, name: str, lines: int = 20) -> str:
    try:
        return "\n".join(log_file(config, name).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_until_answers(
    config: StackConfig,
    name: str,
    probe: Callable[[], bool],
    *,
    what: str,
    errors: tuple[type[BaseException], ...] = (OSError,),
    timeout: float = 30.0,
    hint: str = "",
) -> None:
    """Call `probe` until it returns True (the server `name` answers), the process exits, or `timeout` passes.
    A probe raising one of `errors` counts as not answering yet; the last such error goes into the message,
    with the last lines of the process's log."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    state = f"the process is still running but did not answer within {timeout:.0f} s"
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except errors as error:
            last_error = error
        if not is_running(config, name):
            state = "the process exited"
            break
        time.sleep(0.2)
    detail = f"{state}; last error: {last_error}" if last_error else state
    raise StackError(f"{what} did not answer ({detail}). Last log lines ({log_file(config, name)}):\n"
                     f"{log_tail(config, name)}{hint}")
