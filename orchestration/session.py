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
        )


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
