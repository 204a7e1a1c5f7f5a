"""The landing zone: where encrypted report documents are kept, behind an interface an object store can implement.

Keys look like `<tenant_id>/<dataset>/<partition>/<document_id>.env`. The local implementation writes
files atomically (temp file + rename) with owner-only permissions.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Protocol

from orchestration.warehouse.schemas import check_tenant_id
from orchestration.whole_files import write_whole


class LandingZone(Protocol):
    def put(self, key: str, blob: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def list(self, prefix: str) -> list[str]: ...
    def delete(self, key: str) -> None: ...
    def delete_tenant(self, tenant_id: str) -> int: ...


def _safe_part(part: str) -> str:
    if not part or part in {".", ".."} or "/" in part or "\\" in part or "\0" in part:
        raise ValueError(f"bad landing-zone key part {part!r}")
    return part


def document_key(tenant_id: str, dataset: str, partition: str, document_id: str) -> str:
    check_tenant_id(tenant_id)
    return "/".join(_safe_part(p) for p in (tenant_id, dataset, partition, f"{document_id}.env"))


class LocalLandingZone:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        for part in parts:
            _safe_part(part)
        return self.root.joinpath(*parts)

    def put(self, key: str, blob: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_whole(path, blob, durable=True)

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix) if prefix else self.root
        if not base.exists():
            return []
        return sorted(
            str(p.relative_to(self.root)) for p in base.rglob("*.env") if p.is_file()
        )

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_tenant(self, tenant_id: str) -> int:
        base = self._path(check_tenant_id(tenant_id))
        if not base.exists():
            return 0
        count = sum(1 for p in base.rglob("*") if p.is_file())
        shutil.rmtree(base)
        return count
