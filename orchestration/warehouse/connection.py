"""Opens warehouse connections: TLS with full certificate verification, credentials from Vault."""

from __future__ import annotations

import psycopg

from orchestration.secrets.vault import Vault
from orchestration.settings import Settings


def conninfo(settings: Settings, username: str, password: str, database: str | None = None) -> str:
    return psycopg.conninfo.make_conninfo(
        host=settings.pg_host,
        port=settings.pg_port,
        dbname=database or settings.pg_database,
        user=username,
        password=password,
        sslmode="verify-full",
        sslrootcert=str(settings.ca_file),
        ssl_min_protocol_version="TLSv1.2",
        application_name="retkee-pipeline",
        connect_timeout=10,
    )


def connect(settings: Settings, vault: Vault, *, autocommit: bool = False) -> psycopg.Connection:
    """Connect as the `pipeline` role with the password Vault holds for it."""
    username, password = vault.warehouse_login()
    return psycopg.connect(conninfo(settings, username, password.reveal()), autocommit=autocommit)
