"""Connection settings handed to the pipeline and to Dagster.

`.data/local.env` holds only non-secret `KEY=value` lines (`retkee` reads it from the repository root). The one
secret Dagster needs for its own run/event storage, DAGSTER_PG_PASSWORD, is never written there: `dagster_env()`
reads it from `.data/secrets/dagster-pg.json` and puts it only into the environment of the Dagster processes it
starts, and local.env names that file (DAGSTER_PG_PASSWORD_FILE) for `retkee` to read when it opens Dagster.
The pipeline gets no secret at all: it logs into Vault with the AppRole file named in its settings.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping

from local_stack.config import StackConfig
from local_stack.errors import StackError
from local_stack.postgres import DAGSTER_DB, DAGSTER_ROLE, WAREHOUSE_DB
from local_stack.secret_files import read_json
from orchestration.settings import (
    CELERY_BROKER_PASSWORD_FILE_VARIABLE,
    CELERY_BROKER_URL_VARIABLE,
    EXECUTOR_VARIABLE,
)


def pipeline_env(config: StackConfig) -> dict[str, str]:
    """The RETKEE_* settings of docs/architecture.md for this stack (no secrets)."""
    return {**_connection_env(config), **executor_env(config)}


def executor_env(config: StackConfig) -> dict[str, str]:
    """How runs execute their steps; with Celery, where the broker is and which file holds its password."""
    if config.executor != "celery":
        return {EXECUTOR_VARIABLE: config.executor}
    return {
        EXECUTOR_VARIABLE: config.executor,
        CELERY_BROKER_URL_VARIABLE: config.celery_broker_url,
        CELERY_BROKER_PASSWORD_FILE_VARIABLE: str(config.celery_broker_file),
    }


def _connection_env(config: StackConfig) -> dict[str, str]:
    return {
        "RETKEE_PG_HOST": "localhost",
        "RETKEE_PG_PORT": str(config.pg_port),
        "RETKEE_PG_DATABASE": WAREHOUSE_DB,
        "RETKEE_CA_FILE": str(config.ca_file),
        "RETKEE_VAULT_ADDR": config.vault_addr,
        "RETKEE_VAULT_APPROLE_FILE": str(config.approle_file("pipeline")),
        "RETKEE_LANDING_DIR": str(config.landing_dir),
        # Where `retkee refresh` writes Dagster's events of its runs (the console shows progress only).
        "RETKEE_LOG_DIR": str(config.log_dir),
        # The local sandbox runs Amazon's clock `sandbox_time_scale` times faster; the client-side buckets keep
        # pace with it (production leaves this unset: Amazon's published rates).
        "RETKEE_SPAPI_RATE_SCALE": str(config.sandbox_time_scale),
    }


def dagster_settings(config: StackConfig) -> dict[str, str]:
    """Non-secret settings of Dagster's own Postgres storage (referenced from dagster.yaml via env)."""
    return {
        "DAGSTER_HOME": str(config.dagster_home),
        "DAGSTER_PG_HOST": "localhost",
        "DAGSTER_PG_PORT": str(config.pg_port),
        "DAGSTER_PG_DB": DAGSTER_DB,
        "DAGSTER_PG_USERNAME": DAGSTER_ROLE,
        "DAGSTER_PG_SSLMODE": "verify-full",
        "DAGSTER_PG_SSLROOTCERT": str(config.ca_file),
        # dagster.yaml's `params` cannot reference env vars: libpq reads the CA from PGSSLROOTCERT.
        "PGSSLROOTCERT": str(config.ca_file),
    }


def dagster_env(config: StackConfig, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Full environment for `dagster-webserver` / `dagster-daemon`: `base` (default os.environ) + settings
    + DAGSTER_PG_PASSWORD read from `.data/secrets/dagster-pg.json`."""
    creds = read_json(config.dagster_pg_file)
    if creds is None:
        raise StackError(f"{config.dagster_pg_file} is missing: run `python -m local_stack up` first.")
    env = dict(os.environ if base is None else base)
    env.update(pipeline_env(config))
    env.update(dagster_settings(config))
    env["DAGSTER_PG_PASSWORD"] = creds["password"]
    return env


def write_local_env(config: StackConfig) -> None:
    """Write `.data/local.env` and prepare DAGSTER_HOME and the landing zone."""
    config.landing_dir.mkdir(parents=True, exist_ok=True)
    config.landing_dir.chmod(0o700)
    config.dagster_home.mkdir(parents=True, exist_ok=True)
    dagster_yaml = config.repo_root / "dagster.yaml"
    if dagster_yaml.exists():
        shutil.copyfile(dagster_yaml, config.dagster_home / "dagster.yaml")
    lines = ["# Written by `python -m local_stack up`. Non-secret settings only; safe to source from make."]
    # The Dagster password itself stays in its secret file; `retkee` reads it from there (the path is no secret).
    password_file = {"DAGSTER_PG_PASSWORD_FILE": str(config.dagster_pg_file)}
    for key, value in {**pipeline_env(config), **dagster_settings(config), **password_file}.items():
        if any(ch in value for ch in " \t\"'$#\\"):
            raise StackError(f"{key}={value!r}: the data dir path must not contain spaces or quotes")
        lines.append(f"{key}={value}")
    config.local_env_file.write_text("\n".join(lines) + "\n")
    config.local_env_file.chmod(0o644)
