"""Vault's error, apart from the client: a command can name it without importing hvac (and requests) first."""

from __future__ import annotations


class VaultError(RuntimeError):
    """Vault refused or could not serve a request; the message never holds a secret."""
