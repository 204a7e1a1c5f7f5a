"""One place that opens Vault, the warehouse and the landing zone, for a Dagster run or a `retkee` command.

Dagster-free, so a command that only reads the warehouse (`retkee tenants list`) starts without loading
Dagster, dbt or great-expectations; defs/resources.py hands the same session to runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg

from orchestration.land.landing_zone import LocalLandingZone
from orchestration.secrets.vault import Vault
from orchestration.settings import Settings
from orchestration.tenants.registry import Tenant, TenantRegistry
from orchestration.warehouse.connection import connect

if TYPE_CHECKING:
    from orchestration.extract.connection import SellerConnection
    from orchestration.extract.ratelimit import Quotas


@dataclass
class PlatformSession:
    settings: Settings
    vault: Vault
    conn: psycopg.Connection
    landing: LocalLandingZone
    registry: TenantRegistry

    def seller_connection(self, tenant: Tenant) -> SellerConnection:
        # The SP-API client takes a second to import; only extraction needs it, not every command.
        from orchestration.extract.connection import SellerConnection

        return SellerConnection(
            app=self.vault.lwa_app(),
            refresh_token=self.vault.refresh_token(tenant.tenant_id),
            region=tenant.region,
            ca_file=str(self.settings.ca_file),
            quotas=self.spapi_quotas(),
        )

    def spapi_quotas(self) -> Quotas:
        """The SP-API token buckets: shared by every process in PostgreSQL (as the `spapi_quota` login, its password
        from Vault), unless RETKEE_SPAPI_QUOTAS=in-process (docs/operations.md)."""
        from orchestration.extract.quota_store import QUOTA_ROLE
        from orchestration.extract.ratelimit import in_process_quotas, quota_mode, shared_quotas
        from orchestration.warehouse.connection import conninfo

        if quota_mode() == "in-process":
            return in_process_quotas()
        username, password = self.vault.warehouse_login(QUOTA_ROLE)
        return shared_quotas(conninfo(self.settings, username, password.reveal(), application="retkee-spapi-quotas"))


@contextmanager
def open_session(settings: Settings | None = None) -> Iterator[PlatformSession]:
    settings = settings or Settings.from_env()
    vault = Vault(settings)
    with connect(settings, vault) as conn:
        yield PlatformSession(
            settings=settings,
            vault=vault,
            conn=conn,
            landing=LocalLandingZone(settings.landing_dir),
            registry=TenantRegistry(conn),
        )
