"""Where the pipeline finds its servers: connection settings read from the environment.

Only non-secret settings live here. Every secret (database password, LWA app credentials, seller
refresh tokens, data keys) is fetched from Vault at run time through the pipeline's AppRole.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


class SettingsError(RuntimeError):
    """A required setting is missing or points nowhere."""


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SettingsError(
            f"{name} is not set. Run `make run` (it writes .data/local.env) or export it; "
            "see docs/operations.md for every setting."
        )
    return value


@dataclass(frozen=True)
class Settings:
    pg_host: str
    pg_port: int
    pg_database: str
    ca_file: Path
    vault_addr: str
    vault_approle_file: Path
    landing_dir: Path

    @classmethod
    def from_env(cls) -> Settings:
        settings = cls(
            pg_host=os.environ.get("RETKEE_PG_HOST", "localhost"),
            pg_port=int(os.environ.get("RETKEE_PG_PORT", "55432")),
            pg_database=os.environ.get("RETKEE_PG_DATABASE", "warehouse"),
            ca_file=Path(_required("RETKEE_CA_FILE")),
            vault_addr=_required("RETKEE_VAULT_ADDR"),
            vault_approle_file=Path(_required("RETKEE_VAULT_APPROLE_FILE")),
            landing_dir=Path(_required("RETKEE_LANDING_DIR")),
        )
        if not settings.vault_addr.startswith("https://"):
            raise SettingsError(f"RETKEE_VAULT_ADDR must be https:// (got {settings.vault_addr!r})")
        if not settings.ca_file.is_file():
            raise SettingsError(f"RETKEE_CA_FILE {settings.ca_file} does not exist")
        return settings

    def for_duty(self, duty: str) -> Settings:
        """The same servers, logged into Vault under another duty's AppRole (onboarding, erasure).

        Each duty's AppRole file sits beside the pipeline's: approle-<duty>.json.
        """
        if duty not in ("pipeline", "onboarding", "erasure"):
            raise SettingsError(f"unknown Vault duty {duty!r}")
        approle_file = self.vault_approle_file.with_name(f"approle-{duty}.json")
        return Settings(**{**self.__dict__, "vault_approle_file": approle_file})
