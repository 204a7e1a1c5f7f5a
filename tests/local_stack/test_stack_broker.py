"""The Celery broker the local stack starts for RETKEE_EXECUTOR=celery: Debian's redis-server on 127.0.0.1 only, TLS
1.2+ only with the stack's certificate, a password required, its secrets in 0600 files."""

from __future__ import annotations

import shutil
import socket
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from local_stack import StackConfig, broker, processes
from local_stack.pki import ensure_pki
from local_stack.ports import free_port
from orchestration.settings import CeleryBroker


@pytest.fixture(scope="module")
def redis_stack() -> Iterator[StackConfig]:
    root = Path(tempfile.mkdtemp(prefix="retkee-broker-test-"))
    config = StackConfig(data_dir=root / "data", redis_port=free_port(), executor="celery", with_sandbox=False)
    config.secrets_dir.mkdir(parents=True)
    ensure_pki(config)
    try:
        broker.start(config)
        yield config
    finally:
        broker.stop(config)
        shutil.rmtree(root, ignore_errors=True)


def _client(config: StackConfig, **overrides) -> redis.Redis:
    options = {"host": "localhost", "port": config.redis_port, "password": broker.broker_password(config),
               "ssl": True, "ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": str(config.ca_file),
               "socket_timeout": 3, "socket_connect_timeout": 3, **overrides}
    return redis.Redis(**options)


def test_the_pipeline_reaches_the_broker_over_verified_tls_with_its_password(redis_stack):
    broker_settings = CeleryBroker(url=redis_stack.celery_broker_url, password_file=redis_stack.celery_broker_file,
                                   ca_file=redis_stack.ca_file)
    # The options Celery is given (orchestration/defs/executor.py), on redis-py's own client.
    with redis.Redis.from_url(broker_settings.url_with_password(), **broker_settings.tls_options()) as client:
        assert client.ping()
        assert client.config_get("tls-protocols") == {"tls-protocols": "TLSv1.2 TLSv1.3"}
        assert client.config_get("bind")["bind"] == "127.0.0.1"
        assert client.config_get("port") == {"port": "0"}  # no plaintext listener


@pytest.mark.parametrize("password", [None, "not-the-password"], ids=["no password", "wrong password"])
def test_the_broker_refuses_a_client_without_its_password(redis_stack, password):
    with _client(redis_stack, password=password) as client, pytest.raises(redis.AuthenticationError):
        client.set("probe", "1")


# The client offers only TLS 1.0-1.1 on purpose (the server says which it accepts: tls-protocols, above).
@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")
def test_the_broker_speaks_neither_plaintext_nor_tls_below_1_2(redis_stack):
    with socket.create_connection(("127.0.0.1", redis_stack.redis_port), timeout=3) as plain:
        plain.sendall(b"PING\r\n")
        try:
            answer = plain.recv(100)
        except (ConnectionResetError, TimeoutError):
            answer = b""
    assert b"PONG" not in answer
    old = ssl.create_default_context(cafile=str(redis_stack.ca_file))
    old.minimum_version = ssl.TLSVersion.TLSv1
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection(("127.0.0.1", redis_stack.redis_port), timeout=3) as raw, \
            pytest.raises(ssl.SSLError):
        old.wrap_socket(raw, server_hostname="localhost")


def test_a_client_that_does_not_trust_the_stack_ca_is_refused(redis_stack):
    with _client(redis_stack, ssl_ca_certs=None) as client, pytest.raises(redis.ConnectionError):
        client.ping()


def test_the_password_lives_only_in_0600_files(redis_stack):
    for path in (redis_stack.celery_broker_file, redis_stack.redis_config_file):
        assert path.stat().st_mode & 0o777 == 0o600, path
    password = broker.broker_password(redis_stack)
    pid = processes.read_pid(redis_stack, broker.PROCESS_NAME)
    assert password.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
    assert password not in (redis_stack.run_dir / f"{broker.PROCESS_NAME}.json").read_text()


def test_the_compliance_report_shakes_hands_with_the_broker_when_runs_go_through_it(redis_stack, monkeypatch):
    from orchestration.compliance import evidence
    from orchestration.settings import CELERY_BROKER_PASSWORD_FILE_VARIABLE, CELERY_BROKER_URL_VARIABLE

    monkeypatch.setenv("RETKEE_EXECUTOR", "in_process")
    assert evidence._broker() == (None, None), "no broker, no hop, when runs execute in process"
    monkeypatch.setenv("RETKEE_EXECUTOR", "celery")
    monkeypatch.setenv(CELERY_BROKER_URL_VARIABLE, redis_stack.celery_broker_url)
    monkeypatch.setenv(CELERY_BROKER_PASSWORD_FILE_VARIABLE, str(redis_stack.celery_broker_file))
    monkeypatch.setenv("RETKEE_CA_FILE", str(redis_stack.ca_file))
    address, version = evidence._broker()
    assert address == redis_stack.celery_broker_url and version in ("TLSv1.2", "TLSv1.3")

    with socket.create_server(("127.0.0.1", 0)) as plain:  # a listener that never speaks TLS
        monkeypatch.setenv(CELERY_BROKER_URL_VARIABLE, f"rediss://localhost:{plain.getsockname()[1]}/0")
        _, version = evidence._broker()
    assert version.startswith("no TLS handshake"), version
