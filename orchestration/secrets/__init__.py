"""Secrets: Vault (OpenBao) access through AppRole logins, one per duty."""
