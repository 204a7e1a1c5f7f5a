"""Vault (OpenBao) access for one duty: AppRole login, KV v2 secrets, per-tenant transit keys.

Paths follow docs/architecture.md ("Vault layout"). Every secret read is wrapped in `Secret`, so it
never prints; every error names the path and the duty, never a value.
"""

from __future__ import annotations

import base64
import json
import stat
from dataclasses import dataclass
from pathlib import Path

import hvac
import hvac.exceptions

from orchestration.secrets.errors import VaultError
from orchestration.secrets.redaction import Secret, remember
from orchestration.settings import Settings, VaultLogin

KV_MOUNT = "retkee-kv"
TRANSIT_MOUNT = "retkee-transit"
# Every tenant's transit key is named TENANT_KEY_PREFIX + tenant id; the mount holds one other key, the Ed25519
# key that signs erasure certificates (created by the stack's bootstrap, never deleted: it outlives the tenants
# whose erasure it vouches for).
TENANT_KEY_PREFIX = "tenant-"
CERTIFICATE_SIGNING_KEY = "erasure-certificates"
CERTIFICATE_SIGNING_KEY_TYPE = "ed25519"


@dataclass(frozen=True)
class LwaApp:
    """Our Login-with-Amazon application and the endpoints it talks to."""

    client_id: str
    client_secret: Secret
    endpoint: str  # SP-API regional endpoint, e.g. https://sellingpartnerapi-na.amazon.com
    token_url: str  # LWA token endpoint, e.g. https://api.amazon.com/auth/o2/token


@dataclass(frozen=True)
class DataKey:
    """A fresh AES-256 data key: use `plaintext` once, store only `wrapped`."""

    plaintext: bytes
    wrapped: str  # transit ciphertext "vault:vN:..."; only this is ever stored


def tenant_key_name(tenant_id: str) -> str:
    return f"{TENANT_KEY_PREFIX}{tenant_id}"


def tenant_secret_path(tenant_id: str) -> str:
    return f"tenants/{tenant_id}/spapi"


def _read_approle_file(path: Path) -> tuple[str, str]:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise VaultError(f"AppRole file {path} not found; run `make run` to bootstrap Vault") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise VaultError(f"AppRole file {path} is readable by others; chmod 600 it")
    data = json.loads(path.read_text())
    return data["role_id"], data["secret_id"]


class Vault:
    """A Vault client logged in under one AppRole (one duty)."""

    def __init__(self, settings: Settings | VaultLogin) -> None:
        self._settings = settings
        self._client = hvac.Client(url=settings.vault_addr, verify=str(settings.ca_file), timeout=30)
        self.duty = settings.vault_approle_file.stem.removeprefix("approle-")
        self._login()

    def _login(self) -> None:
        role_id, secret_id = _read_approle_file(self._settings.vault_approle_file)
        remember(secret_id)
        try:
            answer = self._client.auth.approle.login(role_id=role_id, secret_id=secret_id)
        except hvac.exceptions.VaultError as exc:
            raise VaultError(f"AppRole login for duty '{self.duty}' failed: {type(exc).__name__}") from None
        except Exception as exc:  # connection refused, TLS failure
            raise VaultError(f"Vault at {self._settings.vault_addr} unreachable: {type(exc).__name__}") from None
        remember(answer["auth"]["client_token"])

    @property
    def client(self) -> hvac.Client:
        return self._client

    def token_policies(self) -> list[str]:
        return list(self._client.auth.token.lookup_self()["data"]["policies"])

    def call(self, what: str, fn, *args, plugin_detail: bool = False, **kwargs):
        """`fn(*args, **kwargs)` (a call on this duty's client), its failures as one-line VaultErrors.
        `plugin_detail` adds Vault's own message, for engines whose messages name no secret (the database
        plugin's refusal, orchestration/serve/analyst_logins.py)."""
        return self._call(what, fn, *args, plugin_detail=plugin_detail, **kwargs)

    def _call(self, what: str, fn, *args, plugin_detail: bool = False, **kwargs):
        try:
            return fn(*args, **kwargs)
        except hvac.exceptions.Forbidden:
            raise VaultError(f"Vault denied {what} to the '{self.duty}' AppRole") from None
        except hvac.exceptions.InvalidPath:
            raise VaultError(f"Vault has nothing at {what}") from None
        except hvac.exceptions.VaultError as exc:
            detail = " ".join(str(exc).split())[:300] if plugin_detail else ""
            raise VaultError(f"Vault failed on {what}: {detail or type(exc).__name__}") from None
        except Exception as exc:  # requests' ConnectionError / SSLError: say which, never the payload
            raise VaultError(f"Vault unreachable on {what}: {type(exc).__name__}") from None

    # --- KV v2 ---------------------------------------------------------------------------------
    def read(self, path: str) -> dict:
        answer = self._call(
            f"{KV_MOUNT}/{path}",
            self._client.secrets.kv.v2.read_secret_version,
            path=path,
            mount_point=KV_MOUNT,
            raise_on_deleted_version=True,
        )
        return answer["data"]["data"]

    def write(self, path: str, data: dict) -> None:
        self._call(
            f"{KV_MOUNT}/{path}",
            self._client.secrets.kv.v2.create_or_update_secret,
            path=path,
            secret=data,
            mount_point=KV_MOUNT,
        )

    def destroy(self, path: str) -> None:
        """Remove every version and the metadata of a KV secret."""
        self._call(
            f"{KV_MOUNT}/metadata/{path}",
            self._client.secrets.kv.v2.delete_metadata_and_all_versions,
            path=path,
            mount_point=KV_MOUNT,
        )

    def lwa_app(self) -> LwaApp:
        data = self.read("platform/lwa-app")
        return LwaApp(
            client_id=data["client_id"],
            client_secret=Secret(data["client_secret"]),
            endpoint=data["endpoint"],
            token_url=data["token_url"],
        )

    def warehouse_login(self, role: str = "pipeline") -> tuple[str, Secret]:
        """The database login Vault holds for `role` (`pipeline`, `spapi_quota` for the pipeline's shared SP-API
        buckets, or `compliance` for the compliance duty)."""
        if role not in ("pipeline", "spapi_quota", "compliance"):
            raise VaultError(f"no warehouse login is kept for role {role!r}")
        data = self.read(f"platform/warehouse/{role}")
        return data["username"], Secret(data["password"])

    def refresh_token(self, tenant_id: str) -> Secret:
        return Secret(self.read(tenant_secret_path(tenant_id))["refresh_token"])

    def store_refresh_token(self, tenant_id: str, refresh_token: Secret) -> None:
        self.write(tenant_secret_path(tenant_id), {"refresh_token": refresh_token.reveal()})

    # --- transit: one AES-256-GCM key per tenant ---------------------------------------------------
    def create_tenant_key(self, tenant_id: str) -> None:
        self._call(
            f"{TRANSIT_MOUNT}/keys/{tenant_key_name(tenant_id)}",
            self._client.secrets.transit.create_key,
            name=tenant_key_name(tenant_id),
            key_type="aes256-gcm96",
            exportable=False,
            mount_point=TRANSIT_MOUNT,
        )

    def new_data_key(self, tenant_id: str) -> DataKey:
        answer = self._call(
            f"{TRANSIT_MOUNT}/datakey/plaintext/{tenant_key_name(tenant_id)}",
            self._client.secrets.transit.generate_data_key,
            name=tenant_key_name(tenant_id),
            key_type="plaintext",
            bits=256,
            mount_point=TRANSIT_MOUNT,
        )["data"]
        return DataKey(plaintext=base64.b64decode(answer["plaintext"]), wrapped=answer["ciphertext"])

    def unwrap_data_key(self, tenant_id: str, wrapped: str) -> bytes:
        answer = self._call(
            f"{TRANSIT_MOUNT}/decrypt/{tenant_key_name(tenant_id)}",
            self._client.secrets.transit.decrypt_data,
            name=tenant_key_name(tenant_id),
            ciphertext=wrapped,
            mount_point=TRANSIT_MOUNT,
        )["data"]
        return base64.b64decode(answer["plaintext"])


    # --- transit key lifecycle: erasure and rotation duties (docs/retention.md) ------------------------
    def tenant_key_versions(self, tenant_id: str) -> dict | None:
        """`latest_version`, `min_decryption_version`, the version numbers and `deletion_allowed` of a tenant key;
        None if gone."""
        name = tenant_key_name(tenant_id)
        try:
            data = self._client.secrets.transit.read_key(name=name, mount_point=TRANSIT_MOUNT)["data"]
        except hvac.exceptions.InvalidPath:
            return None
        except Exception as exc:  # noqa: BLE001 - denied or unreachable: say which, never a payload
            raise VaultError(f"Vault could not read {TRANSIT_MOUNT}/keys/{name} for the '{self.duty}' AppRole: "
                             f"{type(exc).__name__}") from None
        return {
            "latest_version": int(data["latest_version"]),
            "min_decryption_version": int(data["min_decryption_version"]),
            "versions": sorted(int(v) for v in data.get("keys", {})),
            "deletion_allowed": bool(data.get("deletion_allowed")),
        }

    def encrypt_for_tenant(self, tenant_id: str, plaintext: bytes) -> str:
        answer = self._call(
            f"{TRANSIT_MOUNT}/encrypt/{tenant_key_name(tenant_id)}",
            self._client.secrets.transit.encrypt_data,
            name=tenant_key_name(tenant_id),
            plaintext=base64.b64encode(plaintext).decode(),
            mount_point=TRANSIT_MOUNT,
        )["data"]
        return answer["ciphertext"]

    def decrypts(self, tenant_id: str, ciphertext: str) -> bool:
        """Whether the tenant key still opens `ciphertext` (False once the key is destroyed)."""
        try:
            self._client.secrets.transit.decrypt_data(
                name=tenant_key_name(tenant_id), ciphertext=ciphertext, mount_point=TRANSIT_MOUNT
            )
        except (hvac.exceptions.InvalidRequest, hvac.exceptions.InvalidPath):
            return False  # "encryption key not found", or a version below min_decryption_version
        except Exception as exc:  # noqa: BLE001 - denied or unreachable is not "does not decrypt"
            raise VaultError(f"Vault could not answer a decrypt for the '{self.duty}' AppRole: "
                             f"{type(exc).__name__}") from None
        return True

    def allow_tenant_key_deletion(self, tenant_id: str) -> bool:
        """Set the tenant key's deletion_allowed (the key-release duty); False if the key is already gone."""
        if self.tenant_key_versions(tenant_id) is None:
            return False
        name = tenant_key_name(tenant_id)
        self._call(f"{TRANSIT_MOUNT}/keys/{name}/config", self._client.secrets.transit.update_key_configuration,
                   name=name, deletion_allowed=True, mount_point=TRANSIT_MOUNT)
        return True

    def destroy_tenant_key(self, tenant_id: str) -> bool:
        """Delete the tenant key (the erasure duty); False if it was already gone (idempotent). Transit refuses
        unless the key-release duty has made the key deletable first."""
        key = self.tenant_key_versions(tenant_id)
        if key is None:
            return False
        name = tenant_key_name(tenant_id)
        if not key["deletion_allowed"]:  # transit would answer a bare 400; say what is missing instead
            raise VaultError(f"{TRANSIT_MOUNT}/keys/{name} is not released for erasure (deletion_allowed is "
                             "false); only the key-release duty sets it, for a revoked or terminated tenant")
        self._call(f"{TRANSIT_MOUNT}/keys/{name}", self._client.secrets.transit.delete_key,
                   name=name, mount_point=TRANSIT_MOUNT)
        return True

    def secret_versions(self, path: str) -> list[int] | None:
        """Version numbers of a KV secret (from its metadata, never its value); None if there is none."""
        try:
            answer = self._client.secrets.kv.v2.read_secret_metadata(path=path, mount_point=KV_MOUNT)
        except hvac.exceptions.InvalidPath:
            return None
        except Exception as exc:  # noqa: BLE001
            raise VaultError(f"Vault could not read metadata of {KV_MOUNT}/{path} for the "
                             f"'{self.duty}' AppRole: {type(exc).__name__}") from None
        return sorted(int(v) for v in answer["data"].get("versions", {}))

    def rotate_tenant_key(self, tenant_id: str) -> int:
        """A new key version; returns it. New data keys are wrapped under it from now on."""
        name = tenant_key_name(tenant_id)
        self._call(f"{TRANSIT_MOUNT}/keys/{name}/rotate", self._client.secrets.transit.rotate_key,
                   name=name, mount_point=TRANSIT_MOUNT)
        versions = self.tenant_key_versions(tenant_id)
        if versions is None:
            raise VaultError(f"Vault has nothing at {TRANSIT_MOUNT}/keys/{name}")
        return versions["latest_version"]

    def rewrap_data_key(self, tenant_id: str, wrapped: str) -> str:
        """The same data key wrapped under the tenant key's latest version (the plaintext stays in Vault)."""
        name = tenant_key_name(tenant_id)
        answer = self._call(f"{TRANSIT_MOUNT}/rewrap/{name}", self._client.secrets.transit.rewrap_data,
                            name=name, ciphertext=wrapped, mount_point=TRANSIT_MOUNT)["data"]
        return answer["ciphertext"]

    def retire_key_versions_below(self, tenant_id: str, version: int) -> None:
        """Raise min_decryption_version: ciphertexts of older versions no longer decrypt."""
        name = tenant_key_name(tenant_id)
        self._call(f"{TRANSIT_MOUNT}/keys/{name}/config", self._client.secrets.transit.update_key_configuration,
                   name=name, min_decryption_version=version, mount_point=TRANSIT_MOUNT)

    # --- erasure certificates: signed by the erasure duty, verified by it and by compliance ---------------------
    def sign_erasure_record(self, record: str) -> str:
        """The transit signature ("vault:vN:...") of an erasure certificate's canonical record."""
        answer = self._call(
            f"{TRANSIT_MOUNT}/sign/{CERTIFICATE_SIGNING_KEY}", self._client.secrets.transit.sign_data,
            name=CERTIFICATE_SIGNING_KEY, hash_input=base64.b64encode(record.encode()).decode(),
            mount_point=TRANSIT_MOUNT,
        )["data"]
        return answer["signature"]

    def verify_erasure_record(self, record: str, signature: str) -> bool:
        """Whether `signature` is the signing key's, over exactly `record`."""
        try:
            answer = self._client.secrets.transit.verify_signed_data(
                name=CERTIFICATE_SIGNING_KEY, hash_input=base64.b64encode(record.encode()).decode(),
                signature=signature, mount_point=TRANSIT_MOUNT,
            )["data"]
        except hvac.exceptions.InvalidRequest:
            return False  # a signature Vault cannot even parse (edited by hand) is not valid
        except Exception as exc:  # noqa: BLE001 - denied or unreachable is not "invalid"
            raise VaultError(f"Vault could not verify an erasure certificate for the '{self.duty}' AppRole: "
                             f"{type(exc).__name__}") from None
        return bool(answer["valid"])
