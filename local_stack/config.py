"""Where the local stack keeps its state and which ports it uses (docs/architecture.md fixes the defaults)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from local_stack.errors import StackError
from orchestration.settings import EXECUTOR_VARIABLE, EXECUTORS

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_data_dir() -> Path:
    return Path(os.environ.get("RETKEE_DATA_DIR") or REPO_ROOT / ".data").resolve()


# The environment variable that sets each port for `make run` and `python -m local_stack up` (one home: the CLI's
# options and the port-clash message both read it from here). RETKEE_PG_PORT is also what the pipeline reads to
# find the warehouse, and .data/local.env writes it back with the port the stack runs on.
PORT_SETTINGS: dict[str, str] = {
    "pg_port": "RETKEE_PG_PORT",
    "vault_port": "RETKEE_VAULT_PORT",
    "vault_cluster_port": "RETKEE_VAULT_CLUSTER_PORT",
    "sandbox_port": "RETKEE_SANDBOX_PORT",
    "dagster_port": "RETKEE_DAGSTER_PORT",
    "redis_port": "RETKEE_REDIS_PORT",
}
# `up` starts the Celery broker and RETKEE_CELERY_WORKERS workers when RETKEE_EXECUTOR=celery (the setting and its
# values: orchestration/settings.py); otherwise it stops any it started before (the default stays in-process).
CELERY_WORKERS_SETTING = "RETKEE_CELERY_WORKERS"


@dataclass(frozen=True)
class StackConfig:
    """Everything that differs between the developer's stack and a throw-away stack in a test."""

    data_dir: Path = field(default_factory=_default_data_dir)
    pg_port: int = 55432
    vault_port: int = 58200
    sandbox_port: int = 58443
    dagster_port: int = 3000
    # The Celery broker (Redis over TLS), used only with executor "celery".
    redis_port: int = 56379
    executor: str = "in_process"
    celery_workers: int = 2
    # Raft's cluster listener; only needs to differ between stacks that run side by side.
    vault_cluster_port: int | None = None
    # The SP-API sandbox is optional so the rest of the stack works while the sandbox is being written.
    with_sandbox: bool = True
    sandbox_seed: int = 42
    # The demo runs the sandbox 20x faster than Amazon (report processing 1.5 s instead of 30 s, rate limits
    # refilled 20x faster); the shape of every flow stays Amazon's. 1.0 is Amazon's own pace.
    sandbox_time_scale: float = 0.05
    # OS user that owns and runs the PostgreSQL cluster when we are root (Postgres refuses to run as root).
    pg_os_user: str = "retkee"
    repo_root: Path = REPO_ROOT

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir).resolve())
        if self.vault_cluster_port is None:
            object.__setattr__(self, "vault_cluster_port", self.vault_port + 1)
        if self.executor not in EXECUTORS:
            raise StackError(f"{EXECUTOR_VARIABLE} must be one of {', '.join(EXECUTORS)} (got {self.executor!r})")
        if self.celery_workers < 1:
            raise StackError(f"{CELERY_WORKERS_SETTING} must be at least 1 (got {self.celery_workers})")

    # --- the ports a data dir was brought up with, so `status`/`up` without options reuse them ---
    # The executor too: `demo` and `ui` follow what the last `up` brought up.
    _SAVED = ("pg_port", "vault_port", "vault_cluster_port", "sandbox_port", "dagster_port", "redis_port", "executor",
              "celery_workers")

    @classmethod
    def for_data_dir(cls, data_dir: Path | None = None, **overrides: object) -> StackConfig:
        """Config of an existing data dir: its saved ports, then `overrides` (None values are ignored)."""
        base = cls() if data_dir is None else cls(data_dir=Path(data_dir))
        saved_file = base.data_dir / "stack.json"
        values: dict[str, object] = {}
        if saved_file.exists():
            values.update({k: v for k, v in json.loads(saved_file.read_text()).items() if k in cls._SAVED})
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(data_dir=base.data_dir, **values)  # type: ignore[arg-type]

    def save(self) -> None:
        saved = {k: v for k, v in asdict(self).items() if k in self._SAVED}
        (self.data_dir / "stack.json").write_text(json.dumps(saved, indent=2) + "\n")

    # --- layout (one place, so every module and the docs agree) ---
    @property
    def pki_dir(self) -> Path:
        return self.data_dir / "pki"

    @property
    def ca_file(self) -> Path:
        return self.pki_dir / "ca.pem"

    def cert_file(self, service: str) -> Path:
        return self.pki_dir / f"{service}.pem"

    def key_file(self, service: str) -> Path:
        return self.pki_dir / f"{service}-key.pem"

    @property
    def secrets_dir(self) -> Path:
        return self.data_dir / "secrets"

    @property
    def pg_dir(self) -> Path:
        return self.data_dir / "pg"

    @property
    def pg_data_dir(self) -> Path:
        return self.pg_dir / "data"

    @property
    def pg_socket_dir(self) -> Path:
        return self.pg_dir / "run"

    @property
    def pg_superuser_file(self) -> Path:
        return self.secrets_dir / "pg-superuser.json"

    @property
    def dagster_pg_file(self) -> Path:
        return self.secrets_dir / "dagster-pg.json"

    @property
    def vault_dir(self) -> Path:
        return self.data_dir / "vault"

    @property
    def vault_config_file(self) -> Path:
        return self.vault_dir / "config.hcl"

    @property
    def vault_raft_dir(self) -> Path:
        return self.vault_dir / "raft"

    @property
    def vault_bootstrap_file(self) -> Path:
        return self.vault_dir / "bootstrap.json"

    def approle_file(self, duty: str) -> Path:
        return self.vault_dir / f"approle-{duty}.json"

    @property
    def vault_addr(self) -> str:
        return f"https://localhost:{self.vault_port}"

    @property
    def sandbox_dir(self) -> Path:
        return self.data_dir / "sandbox"

    @property
    def sandbox_app_credentials_file(self) -> Path:
        return self.sandbox_dir / "app-credentials.json"

    @property
    def sandbox_admin_token_file(self) -> Path:
        return self.sandbox_dir / "admin-token"

    @property
    def sandbox_endpoint(self) -> str:
        return f"https://localhost:{self.sandbox_port}"

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "log"

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster_home"

    @property
    def redis_dir(self) -> Path:
        return self.data_dir / "redis"

    @property
    def redis_config_file(self) -> Path:
        return self.redis_dir / "redis.conf"

    @property
    def celery_broker_file(self) -> Path:
        return self.secrets_dir / "celery-broker.json"

    @property
    def celery_broker_url(self) -> str:
        return f"rediss://localhost:{self.redis_port}/0"

    @property
    def local_env_file(self) -> Path:
        return self.data_dir / "local.env"
