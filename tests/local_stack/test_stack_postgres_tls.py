"""PostgreSQL accepts only verified TLS >= 1.2 with SCRAM, and the pipeline role gets only its database."""

from __future__ import annotations

import psycopg
import pytest

from local_stack import Stack
from local_stack.vault import approle_login, read_secret
from local_stack.vault_layout import PIPELINE_DB_PATH

pytestmark = pytest.mark.integration


def _pipeline_credentials(stack: Stack) -> dict[str, str]:
    """Exactly what the pipeline does: AppRole login, then read its DB credentials from Vault."""
    client = approle_login(stack.config, "pipeline")
    return read_secret(client, PIPELINE_DB_PATH)


def _connect(stack: Stack, dbname: str = "warehouse", **params: str) -> psycopg.Connection:
    creds = _pipeline_credentials(stack)
    defaults = {"sslmode": "verify-full", "sslrootcert": str(stack.config.ca_file), "host": "localhost"}
    return psycopg.connect(port=stack.config.pg_port, dbname=dbname, user=creds["username"],
                           password=creds["password"], connect_timeout=5, **{**defaults, **params})


def test_pipeline_connects_with_verify_full_using_the_password_from_vault(stack: Stack) -> None:
    with _connect(stack) as conn:
        user, ssl, version = conn.execute(
            "SELECT current_user, ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    assert (user, ssl) == ("pipeline", True)
    assert version in ("TLSv1.2", "TLSv1.3")


def test_plain_tcp_connection_is_refused(stack: Stack) -> None:
    with pytest.raises(psycopg.OperationalError, match="no pg_hba.conf entry"):
        _connect(stack, sslmode="disable")


def test_unix_socket_connection_is_refused(stack: Stack) -> None:
    with pytest.raises(psycopg.OperationalError, match="no pg_hba.conf entry"):
        _connect(stack, host=str(stack.config.pg_socket_dir), sslmode="disable")


def test_tls_older_than_1_2_is_refused(stack: Stack) -> None:
    with pytest.raises(psycopg.OperationalError):
        _connect(stack, ssl_max_protocol_version="TLSv1.1")


def test_connection_with_an_unknown_ca_is_refused(stack: Stack, tmp_path) -> None:
    import trustme

    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        _connect(stack, sslrootcert=str(other_ca))


def test_pipeline_may_not_create_a_schema_nor_touch_the_dagster_database(stack: Stack) -> None:
    with _connect(stack) as conn:
        # Schemas are made by provisioning (tenants' by provisioning.ensure_tenant_owner), never by the pipeline.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE SCHEMA IF NOT EXISTS tenant_probe")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE public.probe (id int)")
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        _connect(stack, dbname="dagster")


def test_dagster_role_owns_its_database_with_the_password_from_its_secret_file(stack: Stack) -> None:
    from local_stack import dagster_env

    env = dagster_env(stack.config, base={})
    with psycopg.connect(
        host=env["DAGSTER_PG_HOST"], port=env["DAGSTER_PG_PORT"], dbname=env["DAGSTER_PG_DB"],
        user=env["DAGSTER_PG_USERNAME"], password=env["DAGSTER_PG_PASSWORD"],
        sslmode=env["DAGSTER_PG_SSLMODE"], sslrootcert=env["DAGSTER_PG_SSLROOTCERT"],
    ) as conn:
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'dagster'")
        assert owner.fetchone() == ("dagster",)
    local_env = stack.config.local_env_file.read_text()
    # The settings file names the secret file; neither the password nor a DAGSTER_PG_PASSWORD line is in it.
    assert env["DAGSTER_PG_PASSWORD"] not in local_env
    assert "\nDAGSTER_PG_PASSWORD=" not in local_env
    assert f"\nDAGSTER_PG_PASSWORD_FILE={stack.config.dagster_pg_file}\n" in local_env
