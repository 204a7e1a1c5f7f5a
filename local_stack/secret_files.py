"""Reading and writing the small secret files under `.data/` (always 0600, written atomically)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from orchestration.whole_files import write_whole


def random_password() -> str:
    # URL-safe so the value never needs quoting in a libpq conninfo string or a shell.
    return secrets.token_urlsafe(32)


def write_private_text(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 0600 from the first byte on (no window where it is world-readable)."""
    write_whole(path, text.encode())


def write_private_json(path: Path, data: dict[str, Any]) -> None:
    write_private_text(path, json.dumps(data, indent=2) + "\n")


def read_json(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    return json.loads(path.read_text())
