"""The Celery broker of RETKEE_EXECUTOR=celery: Debian's `redis-server`, on 127.0.0.1 only, TLS only, with a password.

Redis listens on no plaintext port (`port 0`): only its TLS port, TLS 1.2 and 1.3, with the stack's server
certificate (`.data/pki/redis.pem`). Clients authenticate with `requirepass`, a password generated once into
`.data/secrets/celery-broker.json` (0600) and written into `.data/redis/redis.conf` (0600, so it is never on a
command line). Nothing is persisted: the broker holds only queued step tasks and their results; a run whose
broker was restarted is failed by Dagster's run monitoring and re-run (dagster.yaml).
"""

from __future__ import annotations

import os
import shutil
import subprocess  # noqa: S404 - apt-get with fixed arguments

from local_stack import processes
from local_stack.config import PORT_SETTINGS, StackConfig
from local_stack.errors import StackError
from local_stack.ports import require_free_port
from local_stack.secret_files import random_password, read_json, write_private_json, write_private_text

PROCESS_NAME = "redis"
DEBIAN_PACKAGE = "redis-server"


def ensure_installed() -> str:
    """The redis-server binary, installing Debian's package first if it is missing and we are root."""
    found = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server")
                                             else None)
    if found:
        return found
    if os.geteuid() != 0:
        raise StackError("redis-server (the Celery broker of RETKEE_EXECUTOR=celery) is not installed: "
                         f"`sudo apt-get install -y {DEBIAN_PACKAGE}`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update"], ["apt-get", "install", "-y", DEBIAN_PACKAGE]):
        print(f"local_stack: redis-server not found, running: {' '.join(argv)}")
        if subprocess.run(argv, env=env, check=False).returncode != 0:  # noqa: S603
            raise StackError(f"`{' '.join(argv)}` failed; install {DEBIAN_PACKAGE} by hand and retry.")
    found = shutil.which("redis-server")
    if found is None:
        raise StackError(f"installed {DEBIAN_PACKAGE} but still cannot find redis-server.")
    return found


def broker_password(config: StackConfig) -> str:
    """The broker's password, generated on the first `up` like the stack's other secrets."""
    stored = read_json(config.celery_broker_file)
    if stored is None or not stored.get("password"):
        stored = {"password": random_password()}
        write_private_json(config.celery_broker_file, stored)
    return stored["password"]


def redis_conf(config: StackConfig, password: str) -> str:
    return "\n".join([
        "# Written by `python -m local_stack up` (local_stack/broker.py); holds the password: 0600.",
        "bind 127.0.0.1",
        "protected-mode yes",
        "port 0",
        f"tls-port {config.redis_port}",
        f"tls-cert-file {config.cert_file('redis')}",
        f"tls-key-file {config.key_file('redis')}",
        f"tls-ca-cert-file {config.ca_file}",
        # Clients prove who they are with the password; the server proves it with its certificate.
        "tls-auth-clients no",
        'tls-protocols "TLSv1.2 TLSv1.3"',
        "tls-prefer-server-ciphers yes",
        f"requirepass {password}",
        f"dir {config.redis_dir}",
        'save ""',
        "appendonly no",
        "daemonize no",
        # Keep the command line as started: the PID supervision (processes.py) recognises the process by it.
        "set-proc-title no",
        "supervised no",
        "loglevel notice",
        'logfile ""',
        "",
    ])


def start(config: StackConfig) -> int:
    """Start the broker if needed and wait until it answers PING over verified TLS with its password."""
    password = broker_password(config)
    config.redis_dir.mkdir(parents=True, exist_ok=True)
    config.redis_dir.chmod(0o700)
    write_private_text(config.redis_config_file, redis_conf(config, password))
    if not processes.is_running(config, PROCESS_NAME):
        require_free_port(config.redis_port, "the Celery broker (Redis)", PORT_SETTINGS["redis_port"])
        processes.start_process(config, PROCESS_NAME, [ensure_installed(), str(config.redis_config_file)],
                                cwd=config.redis_dir)
    _wait_answering(config, password)
    pid = processes.read_pid(config, PROCESS_NAME)
    assert pid is not None
    return pid


def stop(config: StackConfig) -> bool:
    return processes.stop_process(config, PROCESS_NAME)


def client(config: StackConfig, password: str | None = None):
    """A redis-py client of the broker, as the pipeline connects (TLS 1.2+, the CA, the host name checked)."""
    import ssl

    import redis

    return redis.Redis(
        host="localhost", port=config.redis_port, password=password or broker_password(config), ssl=True,
        ssl_cert_reqs=ssl.CERT_REQUIRED, ssl_ca_certs=str(config.ca_file), ssl_check_hostname=True,
        ssl_min_version=ssl.TLSVersion.TLSv1_2, socket_timeout=2, socket_connect_timeout=2,
    )


def _wait_answering(config: StackConfig, password: str, timeout: float = 20.0) -> None:
    import redis

    def pings() -> bool:
        with client(config, password) as connection:
            return bool(connection.ping())

    processes.wait_until_answers(config, PROCESS_NAME, pings, errors=(redis.RedisError, OSError), timeout=timeout,
                                 what=f"the Celery broker on rediss://localhost:{config.redis_port}")
