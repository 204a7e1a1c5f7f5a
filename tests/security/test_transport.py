"""TLS on every hop: PostgreSQL, Vault and the SP-API (sandbox) refuse plain and unverified connections."""

from __future__ import annotations

import socket
import ssl
import urllib.error
import urllib.request

import psycopg
import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pipeline_login(settings):
    from orchestration.secrets.vault import Vault

    username, password = Vault(settings).warehouse_login()
    return username, password.reveal()


@pytest.mark.parametrize("role", ["pipeline", "compliance"])
def test_product_connections_are_verified_tls_1_2_or_newer(settings, role):
    from orchestration.secrets.vault import Vault
    from orchestration.warehouse.connection import connect

    vault = Vault(settings.for_duty("compliance" if role == "compliance" else "pipeline"))
    with connect(settings, vault, role=role) as conn:
        ssl_on, version = conn.execute("select ssl, version from pg_stat_ssl where pid = pg_backend_pid()").fetchone()
        assert conn.info.get_parameters()["sslmode"] == "verify-full"
    assert ssl_on and version in ("TLSv1.2", "TLSv1.3")


@pytest.mark.parametrize(
    "params", [{"sslmode": "disable"}, {"sslmode": "require", "ssl_max_protocol_version": "TLSv1.1"}]
)
def test_postgres_refuses_plain_and_old_tls(settings, pipeline_login, params):
    username, password = pipeline_login
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host=settings.pg_host, port=settings.pg_port, dbname="warehouse", user=username,
                        password=password, connect_timeout=5, **params)


def test_postgres_stores_scram_verifiers(admin):
    assert admin.execute("show password_encryption").fetchone() == ("scram-sha-256",)
    verifiers = admin.execute("select rolname, rolpassword from pg_authid where rolpassword is not null").fetchall()
    assert verifiers and all(v.startswith("SCRAM-SHA-256$") for _, v in verifiers)


def _plain_http(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        try:
            return s.recv(200)
        except (ConnectionResetError, TimeoutError):
            return b""


@pytest.mark.parametrize("service", ["vault", "sandbox"])
def test_vault_and_sandbox_speak_no_plain_http(pipeline_stack, service):
    port = pipeline_stack.vault_port if service == "vault" else pipeline_stack.sandbox_port
    answer = _plain_http(port)
    assert b"HTTP/1.0 200" not in answer and b"HTTP/1.1 200" not in answer
    # A TLS server answers plain HTTP with a 400 "client sent an HTTP request to an HTTPS server", or hangs up.
    assert answer == b"" or b"400" in answer or b"HTTPS" in answer


@pytest.mark.parametrize("service", ["vault", "sandbox"])
def test_vault_and_sandbox_fail_verification_against_the_system_store(pipeline_stack, service):
    url = pipeline_stack.vault_addr + "/v1/sys/health" if service == "vault" else pipeline_stack.sandbox_endpoint
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(url, context=ssl.create_default_context(), timeout=5)  # noqa: S310
    # ...and pass against the project's CA, which is what the product's clients pin.
    context = ssl.create_default_context(cafile=str(pipeline_stack.ca_file))
    try:
        urllib.request.urlopen(url, context=context, timeout=5)  # noqa: S310
    except urllib.error.HTTPError:
        pass  # any HTTP answer means the TLS handshake was verified


def test_the_vault_client_refuses_a_server_it_cannot_verify(settings, tmp_path):
    import trustme

    from orchestration.secrets.vault import Vault, VaultError
    from orchestration.settings import Settings

    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    with pytest.raises(VaultError, match="unreachable: SSLError"):
        Vault(Settings(**{**settings.__dict__, "ca_file": other_ca}))


def test_the_sp_api_client_pins_tls_1_2_and_the_ca(pipeline_stack):
    from orchestration.extract.connection import tls_context

    context = tls_context(str(pipeline_stack.ca_file))
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
