"""Vault's error, apart from the client: a command can name it without importing hvac (and requests) first."""

from __future__ import annotations

from orchestration.errors import RetkeeError


class VaultError(RetkeeError, RuntimeError):
    """Vault refused or could not serve a request; the message never holds a secret."""
