"""The local SP-API sandbox process (`python -m spapi_sandbox serve`) and the LWA app credentials it trusts.

The credentials are generated once into `.data/sandbox/` for the sandbox and copied into Vault
(`retkee-kv/data/platform/lwa-app`) for the pipeline; the admin token lets tests and `up` query the
sandbox's control routes (`/_sandbox/...`).
"""

from __future__ import annotations

import importlib.util
import secrets
import ssl
import sys
import urllib.error
import urllib.request

from local_stack import processes
from local_stack.config import PORT_SETTINGS, StackConfig
from local_stack.ports import require_free_port
from local_stack.secret_files import read_json, write_private_json, write_private_text

PROCESS_NAME = "sandbox"


def ensure_app_credentials(config: StackConfig) -> dict[str, str]:
    """LWA client id/secret of the (fake) Amazon app, plus the sandbox admin token; created once."""
    config.sandbox_dir.mkdir(parents=True, exist_ok=True)
    config.sandbox_dir.chmod(0o700)
    creds = read_json(config.sandbox_app_credentials_file)
    if creds is None:
        creds = {
            "client_id": f"amzn1.application-oa2-client.{secrets.token_hex(16)}",
            "client_secret": f"amzn1.oa2-cs.v1.{secrets.token_hex(32)}",
        }
        write_private_json(config.sandbox_app_credentials_file, creds)
    if not config.sandbox_admin_token_file.exists():
        write_private_text(config.sandbox_admin_token_file, secrets.token_urlsafe(32) + "\n")
    return creds


def lwa_app_secret(config: StackConfig, creds: dict[str, str]) -> dict[str, str]:
    """What the pipeline reads from `retkee-kv/data/platform/lwa-app`."""
    return {
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "endpoint": config.sandbox_endpoint,
        "token_url": f"{config.sandbox_endpoint}/auth/o2/token",
    }


def sandbox_available() -> bool:
    """False while `spapi_sandbox` has no `__main__` yet (it is developed alongside the stack)."""
    try:
        return importlib.util.find_spec("spapi_sandbox.__main__") is not None
    except (ImportError, ValueError):
        return False


def start(config: StackConfig) -> int | None:
    """Start the sandbox if needed and wait until it answers HTTPS; None (with a warning) if unavailable."""
    if processes.is_running(config, PROCESS_NAME):
        _wait_answering(config)
        return processes.read_pid(config, PROCESS_NAME)
    if not sandbox_available():
        print("local_stack: WARNING: spapi_sandbox has no __main__ yet; the SP-API sandbox was NOT started.",
              file=sys.stderr)
        return None
    require_free_port(config.sandbox_port, "SP-API sandbox", PORT_SETTINGS["sandbox_port"])
    argv = [
        sys.executable, "-m", "spapi_sandbox", "serve",
        "--host", "127.0.0.1", "--port", str(config.sandbox_port),
        "--certfile", str(config.cert_file("sandbox")), "--keyfile", str(config.key_file("sandbox")),
        "--state-dir", str(config.sandbox_dir),
        "--app-credentials-file", str(config.sandbox_app_credentials_file),
        "--admin-token-file", str(config.sandbox_admin_token_file),
        "--seed", str(config.sandbox_seed),
        "--time-scale", str(config.sandbox_time_scale),
    ]
    pid = processes.start_process(config, PROCESS_NAME, argv, cwd=config.repo_root)
    _wait_answering(config)
    return pid


def stop(config: StackConfig) -> bool:
    return processes.stop_process(config, PROCESS_NAME)


def _wait_answering(config: StackConfig, timeout: float = 30.0) -> None:
    """Any HTTP answer over verified TLS counts as up (the route may not exist yet in the sandbox)."""
    context = ssl.create_default_context(cafile=str(config.ca_file))
    token = config.sandbox_admin_token_file.read_text().strip()
    request = urllib.request.Request(  # noqa: S310 - fixed https URL
        f"{config.sandbox_endpoint}/_sandbox/sellers", headers={"Authorization": f"Bearer {token}"})

    def answers() -> bool:
        try:
            with urllib.request.urlopen(request, context=context, timeout=2):  # noqa: S310
                return True
        except urllib.error.HTTPError:
            return True  # it answered

    processes.wait_until_answers(
        config, PROCESS_NAME, answers, errors=(urllib.error.URLError, OSError), timeout=timeout,
        what=f"the SP-API sandbox on {config.sandbox_endpoint}",
        hint="\nUse StackConfig(with_sandbox=False) / `up --no-sandbox` to bring up the rest without it.")
