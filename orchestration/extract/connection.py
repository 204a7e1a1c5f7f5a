"""Builds python-amazon-sp-api clients for one seller, using only the client's supported options.

The regional endpoint and the LWA token URL come from Vault (`platform/lwa-app`), the refresh token
from the tenant's own Vault secret; credentials are passed in code so the client never falls back to
environment variables or config files. TLS: the system trust store plus the configured CA file,
TLS 1.2 minimum. Each connection carries the quota buckets its calls draw from (extract/ratelimit.py): the
shared PostgreSQL ones in the pipeline, so every worker calling as this seller spends the same tokens.
"""

from __future__ import annotations

import hashlib
import os
import ssl
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from sp_api.auth import AccessTokenClient
from sp_api.base.credential_provider import FromCodeCredentialProvider

from orchestration.secrets.redaction import Secret
from orchestration.secrets.vault import LwaApp

if TYPE_CHECKING:
    from orchestration.extract.ratelimit import Quotas


@dataclass(frozen=True)
class Marketplace:
    """What the client needs of a marketplace (it accepts any object with these attributes)."""

    endpoint: str
    marketplace_id: str
    region: str


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """One shared context per CA file (reading the system trust store costs ~30 ms, every client used to pay
    it); a CA file replaced on disk gets a fresh context."""
    return _tls_context(ca_file, os.stat(ca_file).st_mtime_ns if ca_file else 0)


@lru_cache(maxsize=8)
def _tls_context(ca_file: str | None, _ca_version: int) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


@lru_cache(maxsize=8)
def token_client_for(token_url: str) -> type[AccessTokenClient]:
    """An AccessTokenClient subclass whose host/path point at `token_url` (the client's documented hook)."""
    parsed = urlparse(token_url)
    if parsed.scheme != "https":
        raise ValueError(f"the LWA token URL must be https, got {token_url!r}")
    return type(
        "RetkeeAccessTokenClient",
        (AccessTokenClient,),
        {"scheme": "https://", "host": parsed.netloc, "path": parsed.path or "/auth/o2/token"},
    )


@dataclass(frozen=True)
class SellerConnection:
    """Everything needed to call SP-API as one seller."""

    app: LwaApp
    refresh_token: Secret
    region: str
    ca_file: str | None
    quotas: Quotas  # the buckets every call as this seller takes its tokens from

    @property
    def rate_key(self) -> str:
        """Who Amazon meters: this seller (by a digest of its grant) under our application."""
        digest = hashlib.sha256(self.refresh_token.reveal().encode()).hexdigest()[:16]
        return f"{self.app.client_id}:{digest}"

    @property
    def application(self) -> str:
        """Our application as Amazon counts it for application-wide caps: the LWA client id."""
        return self.app.client_id

    def acquire(self, operation: str, report_type: str | None = None) -> None:
        """Wait for this seller's token for `operation` (and the application's slot where a cap counts it)."""
        self.quotas.acquire(self.rate_key, operation, application=self.application, report_type=report_type)

    def forget_access_token(self) -> None:
        """Drop the client's cached access token for this seller, so the next call logs in afresh.

        The client caches access tokens for SP_API_AUTH_CACHE_TTL whatever `expires_in` said; a 403 may
        only mean that cached token has expired, and that is no reason to call the seller revoked.
        """
        from sp_api.auth._core import build_cache_key
        from sp_api.auth.access_token_client import cache

        cache.pop(build_cache_key(self.refresh_token.reveal(), ""), None)

    def client(self, api_class, marketplace_id: str, timeout: float = 60.0):
        if not self.app.endpoint.startswith("https://"):
            raise ValueError("the SP-API endpoint must be https")
        return api_class(
            Marketplace(endpoint=self.app.endpoint, marketplace_id=marketplace_id, region=self.region),
            refresh_token=self.refresh_token.reveal(),
            credentials={
                "refresh_token": self.refresh_token.reveal(),
                "lwa_app_id": self.app.client_id,
                "lwa_client_secret": self.app.client_secret.reveal(),
            },
            credential_providers=[FromCodeCredentialProvider],
            auth_token_client_class=token_client_for(self.app.token_url),
            verify=tls_context(self.ca_file),
            timeout=timeout,
        )
