"""Scheduled key rotation of an active tenant, without downtime: rotate, rewrap, then retire old versions.

1. `rotate` the tenant's transit key: new data keys are wrapped under the new version from now on.
2. Every landing-zone envelope wrapped under an older version is re-sealed with its data key rewrapped by
   Vault (`rewrap`); the data key stays the same, so the document's ciphertext is re-sealed, not re-keyed
   (the header is the AEAD's associated data: see land/rewrap.py). Each file is replaced atomically, so a
   reader sees either the old envelope (still decryptable) or the new one.
3. `min_decryption_version` is raised to the oldest version any envelope still uses: after a clean pass,
   the new version, so old key versions can decrypt nothing any more. An envelope written by a run that
   took its data key just before the rotation keeps its version decryptable until the next rotation.

Runs under the `rotation` Vault duty (rotate, rewrap, decrypt, min_decryption_version; nothing that deletes).
A tenant with runs in flight is skipped and rotated next time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestration.land.envelope import read_header
from orchestration.land.landing_zone import LandingZone
from orchestration.land.rewrap import envelope_key_version, reseal
from orchestration.retain.erasure import RunControl
from orchestration.secrets.vault import Vault, VaultError


@dataclass
class RotationResult:
    tenant_id: str
    skipped: str | None = None  # why the tenant was not rotated this time
    new_version: int | None = None
    rewrapped: int = 0
    already_current: int = 0
    vanished: int = 0  # deleted by a re-run partition while we worked: not resurrected
    min_decryption_version: int | None = None
    errors: list[str] = field(default_factory=list)

    def metadata(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, [])}


def rotate_tenant_key(rotation_vault: Vault, landing: LandingZone, runs: RunControl, tenant_id: str) -> RotationResult:
    result = RotationResult(tenant_id)
    if runs.in_flight_runs(tenant_id):
        result.skipped = "runs in flight"
        return result
    result.new_version = rotation_vault.rotate_tenant_key(tenant_id)
    for key in landing.list(tenant_id):
        try:
            blob = landing.get(key)
        except FileNotFoundError:
            result.vanished += 1
            continue
        if envelope_key_version(blob) >= result.new_version:
            result.already_current += 1
            continue
        header, _, _ = read_header(blob)
        try:
            data_key = rotation_vault.unwrap_data_key(tenant_id, header["wrapped_key"])
            rewrapped = rotation_vault.rewrap_data_key(tenant_id, header["wrapped_key"])
        except VaultError as exc:
            result.errors.append(f"{key}: {exc}")
            continue
        new_blob = reseal(blob, data_key, rewrapped)
        if key not in set(landing.list(key.rsplit("/", 1)[0])):
            result.vanished += 1  # replaced or removed meanwhile: writing it back would resurrect it
            continue
        landing.put(key, new_blob)
        result.rewrapped += 1
    oldest = min((_version_or(landing, key, result.new_version) for key in landing.list(tenant_id)),
                 default=result.new_version)
    current = rotation_vault.tenant_key_versions(tenant_id) or {}
    if oldest > current.get("min_decryption_version", 1):
        rotation_vault.retire_key_versions_below(tenant_id, oldest)
    result.min_decryption_version = max(oldest, current.get("min_decryption_version", 1))
    return result


def _version_or(landing: LandingZone, key: str, default: int) -> int:
    try:
        return envelope_key_version(landing.get(key))
    except FileNotFoundError:
        return default
