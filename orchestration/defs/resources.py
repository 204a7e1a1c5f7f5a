"""The platform resource: one place that opens Vault, the warehouse and the landing zone for a run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from dagster import ConfigurableResource

from orchestration.extract.connection import SellerConnection
from orchestration.land.landing_zone import LocalLandingZone
from orchestration.secrets.vault import Vault
from orchestration.settings import Settings
from orchestration.tenants.registry import Tenant, TenantRegistry
from orchestration.warehouse.connection import connect


@dataclass
class PlatformSession:
    settings: Settings
    vault: Vault
    conn: psycopg.Connection
    landing: LocalLandingZone
    registry: TenantRegistry

    def seller_connection(self, tenant: Tenant) -> SellerConnection:
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


class Platform(ConfigurableResource):
    """Vault, warehouse and landing zone, configured from the environment (see orchestration/settings.py)."""

    def session(self):
        return open_session()
