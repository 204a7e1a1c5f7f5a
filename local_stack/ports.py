"""Port checks before a service binds, so a clash gets a clear message instead of a log line."""

from __future__ import annotations

import socket

from local_stack.errors import StackError


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR: a socket of our own last run in TIME_WAIT does not count as "in use".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def require_free_port(port: int, service: str, setting: str) -> None:
    """`setting` is the environment variable that moves the service (config.PORT_SETTINGS)."""
    if not port_is_free(port):
        raise StackError(
            f"{service} cannot start: port {port} on 127.0.0.1 is already in use by another process "
            f"(see `ss -ltnp 'sport = :{port}'`). Stop that process, or choose another port: "
            f"`{setting}={free_port()} make run` (a port free right now)."
        )


def wait_for_port(port: int, timeout: float, host: str = "127.0.0.1") -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def free_port() -> int:
    """A port the kernel considers free right now (for tests that run a second stack)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
