"""Signed, opaque page tokens shared by the paged operations: a cursor only this server can have made."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from .context import Sandbox


def _key(sandbox: Sandbox, purpose: str) -> bytes:
    return hashlib.sha256(f"{purpose}-next-token|".encode() + sandbox.state.secret).digest()


def encode(sandbox: Sandbox, purpose: str, cursor: dict) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(cursor, separators=(",", ":")).encode()).decode()
    return payload + "." + hmac.new(_key(sandbox, purpose), payload.encode(), hashlib.sha256).hexdigest()[:32]


def decode(sandbox: Sandbox, purpose: str, token: str) -> dict | None:
    """The cursor, or None when the token was not made here (tampered, truncated, another operation's)."""
    payload, _, sig = token.partition(".")
    good = hmac.new(_key(sandbox, purpose), payload.encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(sig, good):
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(payload))
    except ValueError:
        return None


def csv_param(params, name: str) -> list[str]:
    """A list parameter sent as repeated keys or as one comma-separated value (clients do both)."""
    return [v for raw in params.getlist(name) for v in raw.split(",") if v]
