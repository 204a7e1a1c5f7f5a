"""Opens warehouse connections: TLS with full certificate verification, credentials from Vault."""

from __future__ import annotations

import psycopg

from orchestration.secrets.vault import Vault
from orchestration.settings import Settings, WarehouseAddress


def conninfo(settings: Settings | WarehouseAddress, username: str, password: str, database: str | None = None,
             application: str = "retkee-pipeline") -> str:
    return psycopg.conninfo.make_conninfo(
        host=settings.pg_host,
        port=settings.pg_port,
        dbname=database or settings.pg_database,
        user=username,
        password=password,
        sslmode="verify-full",
        sslrootcert=str(settings.ca_file),
        ssl_min_protocol_version="TLSv1.2",
        application_name=application,
        connect_timeout=10,
    )


def connect(
    settings: Settings | WarehouseAddress, vault: Vault, *, autocommit: bool = False, role: str = "pipeline"
) -> psycopg.Connection:
    """Connect as `role` (default the `pipeline` role) with the password Vault holds for it."""
    username, password = vault.warehouse_login(role)
    return psycopg.connect(
        conninfo(settings, username, password.reveal(), application=f"retkee-{role}"), autocommit=autocommit
    )
