"""`Stack`: bring the whole local stack up, down, report on it, or wipe it, in dependency order.

Order of `up`: PKI -> OpenBao (unseal, layout, AppRoles) -> the warehouse's encrypted disk (its password comes
from OpenBao, so OpenBao is first) -> PostgreSQL (databases, roles) -> secrets that bridge the two (pipeline DB
password, analyst logins' issuer, LWA app) -> SP-API sandbox -> `.data/local.env` -> with RETKEE_EXECUTOR=celery,
the Celery broker and workers (which read local.env's settings). `down` stops the workers before the broker and
PostgreSQL before unmounting its disk.
Every step is idempotent, so `up` on a running stack only checks it. Usable from pytest fixtures with a
temporary `StackConfig`.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from local_stack import broker, encrypted_fs, processes, sandbox, workers
from local_stack.config import StackConfig
from local_stack.errors import StackError
from local_stack.osuser import pg_user_owning, require_traversable, resolve_pg_user
from local_stack.pki import ensure_pki
from local_stack.postgres import (
    ANALYST_LOGIN_ISSUER_ROLE,
    COMPLIANCE_ROLE,
    PIPELINE_ROLE,
    QUOTA_ROLE,
    WAREHOUSE_DB,
    PostgresCluster,
    ensure_installed,
    find_bindir,
)
from local_stack.secret_files import random_password
from local_stack.settings import write_local_env
from local_stack.vault import OpenBaoServer, approle_login
from local_stack.vault_layout import (
    COMPLIANCE_DB_PATH,
    LWA_APP_PATH,
    PIPELINE_DB_PATH,
    QUOTA_DB_PATH,
    WAREHOUSE_DISK_PATH,
)

# Written into the data dir at `up`; `clean` refuses to delete a directory without it.
_MARKER = ".retkee-local-stack"
# Stopped first: they hold connections to Postgres and Vault.
_DAGSTER_PROCESSES = ("dagster-webserver", "dagster-daemon")


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    pid: int | None
    port: int | None


class Stack:
    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.vault = OpenBaoServer(self.config)

    # --- public API ---
    def up(self) -> list[ServiceStatus]:
        """Bring every service up (idempotent) and return their status."""
        with self._lock():
            self._prepare_data_dir()
            ensure_pki(self.config)
            # Checked before anything starts: PostgreSQL's OS user can reach its data dir, the server is installed.
            postgres = self._postgres(install=True)
            self.vault.up()
            self._mount_warehouse_disk(postgres.user)
            postgres.up()
            postgres.bootstrap()
            postgres.ensure_dagster_password()
            self._sync_db_passwords(postgres)
            self._configure_analyst_logins(postgres)
            self._store_lwa_app()
            if self.config.with_sandbox:
                sandbox.start(self.config)
            write_local_env(self.config)
            self._executor_up()
        return self.status(show=False)

    def down(self) -> list[str]:
        """Stop everything this stack supervises (Dagster too); return the names that were running."""
        stopped: list[str] = []
        if not self.config.data_dir.exists():
            return stopped
        with self._lock():
            # The Celery workers before their broker; both before the servers the workers' steps use.
            last = (broker.PROCESS_NAME, sandbox.PROCESS_NAME, "vault")
            others = [n for n in processes.supervised_names(self.config) if n not in (*_DAGSTER_PROCESSES, *last)]
            for name in (*_DAGSTER_PROCESSES, *others, *last):
                if processes.stop_process(self.config, name):
                    stopped.append(name)
            postgres = self._postgres(install=False)
            if postgres is not None and postgres.down():
                stopped.append("postgres")
            encrypted_fs.unmount(self.config)
        return stopped

    def status(self, show: bool = True) -> list[ServiceStatus]:
        """Status of every service; with `show`, also print it as a table."""
        c = self.config
        postgres = self._postgres(install=False)
        pg_pid = postgres.running_pid() if postgres is not None else None
        rows = [ServiceStatus("postgres", pg_pid is not None, pg_pid, c.pg_port)]
        ports = {"vault": c.vault_port, "sandbox": c.sandbox_port, "dagster-webserver": c.dagster_port,
                 broker.PROCESS_NAME: c.redis_port}
        names = ["vault", "sandbox", *_DAGSTER_PROCESSES]
        names += [n for n in processes.supervised_names(c) if n not in names]
        for name in names:
            running = processes.is_running(c, name)
            rows.append(ServiceStatus(name, running, processes.read_pid(c, name) if running else None,
                                      ports.get(name)))
        if show:
            _print_table(c, rows)
        return rows

    def clean(self) -> None:
        """Stop everything, then delete the data dir (and nothing outside it)."""
        data_dir = self.config.data_dir
        if not data_dir.exists():
            return
        self._refuse_unsafe_delete(data_dir)
        self.down()
        if encrypted_fs.is_mounted(self.config.pg_data_dir):
            raise StackError(f"{self.config.pg_data_dir} is still mounted; stop what holds it and retry `clean`")
        shutil.rmtree(data_dir)

    # --- steps ---
    def _prepare_data_dir(self) -> None:
        c = self.config
        c.data_dir.mkdir(parents=True, exist_ok=True)
        # o+x only: the PostgreSQL OS user must pass through to .data/pg, but may not list the dir.
        c.data_dir.chmod(c.data_dir.stat().st_mode & 0o777 | 0o711)
        (c.data_dir / _MARKER).touch()
        c.save()
        c.secrets_dir.mkdir(exist_ok=True)
        c.secrets_dir.chmod(0o700)
        for directory in (c.run_dir, c.log_dir):
            directory.mkdir(exist_ok=True)

    def _executor_up(self) -> None:
        """With RETKEE_EXECUTOR=celery, the broker and the workers (after local.env: they read the same settings);
        otherwise none of them, so a stack brought up in-process has no worker left from an earlier `up`."""
        if self.config.executor == "celery":
            broker.start(self.config)
            workers.start(self.config)
        else:
            workers.stop(self.config)
            broker.stop(self.config)

    def _postgres(self, install: bool) -> PostgresCluster | None:
        if install:
            user = resolve_pg_user(self.config.pg_os_user)
            require_traversable(user, self.config.pg_dir)
            return PostgresCluster(self.config, user, ensure_installed())
        bindir = find_bindir()
        if bindir is None or not self.config.pg_data_dir.exists():
            return None
        return PostgresCluster(self.config, pg_user_owning(self.config.pg_data_dir), bindir)

    @property
    def warehouse_encrypted(self) -> bool:
        """True when the cluster's data dir is the decrypted view of a mounted gocryptfs backing dir."""
        return encrypted_fs.is_mounted(self.config.pg_data_dir)

    def _mount_warehouse_disk(self, user) -> None:
        """Mount the encrypted data dir, creating it (and its password in Vault) on the first `up`.

        A cluster made on plain disk (before this existed, or on a machine without FUSE) stays plain and is
        said so in one line: its data is not moved behind the operator's back (`clean` starts over encrypted).
        """
        c = self.config
        plain_cluster = (c.pg_data_dir / "PG_VERSION").exists() and not encrypted_fs.is_mounted(c.pg_data_dir)
        if not encrypted_fs.is_encrypted(c):
            reason = encrypted_fs.plain_disk_reason()
            if plain_cluster or reason is not None:
                encrypted_fs.say_not_encrypted(reason or f"{c.pg_data_dir} was created on plain disk; "
                                               "`clean` then `up` to start over encrypted")
                return
        elif encrypted_fs.unavailable_reason() is not None and not encrypted_fs.is_mounted(c.pg_data_dir):
            raise StackError(f"the warehouse in {encrypted_fs.cipher_dir(c)} is encrypted but cannot be mounted "
                             f"here: {encrypted_fs.unavailable_reason()}")
        # The root client of the bootstrap: no duty's policy can read this path.
        stored = self.vault.read_kv(WAREHOUSE_DISK_PATH)
        if not encrypted_fs.is_encrypted(c):
            if stored is None or not stored.get("password"):
                stored = {"password": random_password()}
                self.vault.write_kv(WAREHOUSE_DISK_PATH, stored)
            encrypted_fs.create(c, user, stored["password"])
        elif stored is None:
            raise StackError(f"the warehouse disk password is missing from Vault ({WAREHOUSE_DISK_PATH}): the "
                             f"encrypted data in {encrypted_fs.cipher_dir(c)} cannot be opened; `clean` starts over")
        encrypted_fs.mount(c, user, stored["password"])

    def _sync_db_passwords(self, postgres: PostgresCluster) -> None:
        """Vault is the only place the pipeline's and the compliance reporter's DB passwords live; Postgres is
        made to match them."""
        for role, path in ((PIPELINE_ROLE, PIPELINE_DB_PATH), (QUOTA_ROLE, QUOTA_DB_PATH),
                           (COMPLIANCE_ROLE, COMPLIANCE_DB_PATH)):
            stored = self.vault.read_kv(path)
            if stored is None or stored.get("username") != role or not stored.get("password"):
                stored = {"username": role, "password": random_password()}
                self.vault.write_kv(path, stored)
            postgres.set_role_password(role, stored["password"])

    def _configure_analyst_logins(self, postgres: PostgresCluster) -> None:
        """OpenBao issues analysts' logins as the issuer role: its first password is made here, set, handed to
        OpenBao and rotated there at once (vault.py); it is never written to disk."""
        password = None
        if not self.vault.analyst_logins_configured():
            password = random_password()
            postgres.set_role_password(ANALYST_LOGIN_ISSUER_ROLE, password)
        self.vault.configure_analyst_logins("localhost", self.config.pg_port, WAREHOUSE_DB, password,
                                            postgres.active_tenants())

    def _store_lwa_app(self) -> None:
        creds = sandbox.ensure_app_credentials(self.config)
        wanted = sandbox.lwa_app_secret(self.config, creds)
        if self.vault.read_kv(LWA_APP_PATH) != wanted:
            # Written through the onboarding AppRole: the same path a real credential rotation takes.
            onboarding = approle_login(self.config, "onboarding")
            try:
                self.vault.write_kv(LWA_APP_PATH, wanted, client=onboarding)
            finally:
                onboarding.auth.token.revoke_self()

    # --- guards ---
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """One `up`/`down` at a time per data dir (two terminals, or pytest and a developer)."""
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.config.data_dir / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _refuse_unsafe_delete(self, data_dir: Path) -> None:
        protected = {Path("/"), Path.home().resolve(), self.config.repo_root.resolve()}
        if data_dir in protected or data_dir in self.config.repo_root.resolve().parents:
            raise StackError(f"refusing to delete {data_dir}: it is not a data dir of its own")
        if not (data_dir / _MARKER).exists() and any(data_dir.iterdir()):
            raise StackError(f"refusing to delete {data_dir}: it has no {_MARKER} marker, so local_stack "
                             "did not create it")


def _print_table(config: StackConfig, rows: list[ServiceStatus]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Retkee local stack ({config.data_dir})")
    for column in ("service", "state", "pid", "port"):
        table.add_column(column)
    for row in rows:
        state = "[green]up[/green]" if row.running else "[red]down[/red]"
        table.add_row(row.name, state, str(row.pid or "-"), str(row.port or "-"))
    Console().print(table)
