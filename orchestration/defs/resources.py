"""The code location's resources, typed: the warehouse, one Vault login per duty, the landing zone.

Each says what it needs as fields, configured with `EnvVar` from the settings of orchestration/settings.py
(`code_location_resources`), so the UI shows where a run's servers are and a test can point a resource
elsewhere. Nothing is opened until a run, sensor or check asks: `VaultResource.login()`,
`WarehouseResource.connect()`, `LandingZoneResource.open()`; `run_session` puts the three together into the
same `PlatformSession` the CLI opens from the environment (orchestration/session.py).

`open_session` (the CLI's session from the environment) is re-exported for the tests and benchmarks that
import it from here.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

import psycopg
from dagster import ConfigurableResource, EnvVar

from orchestration.compliance.session import ComplianceSession
from orchestration.compliance.session import compliance_session as open_compliance_session
from orchestration.land.landing_zone import LocalLandingZone
from orchestration.secrets.vault import Vault
from orchestration.session import PlatformSession, open_session
from orchestration.settings import Settings, VaultLogin, WarehouseAddress, duty_approle_file
from orchestration.warehouse.connection import connect

__all__ = ["LandingZoneResource", "PlatformSession", "VaultResource", "WarehouseResource",
           "code_location_resources", "compliance_session", "open_session", "run_session"]


class VaultResource(ConfigurableResource):
    """One duty's AppRole login to Vault (OpenBao): `pipeline`, `erasure`, `key-release`, `rotation`, ..."""

    address: str
    ca_file: str
    # The pipeline's AppRole file (RETKEE_VAULT_APPROLE_FILE); every other duty's sits beside it.
    approle_file: str
    duty: str

    def where(self) -> VaultLogin:
        return VaultLogin(self.address, Path(self.ca_file),
                          duty_approle_file(Path(self.approle_file), self.duty)).checked()

    def login(self) -> Vault:
        """A client logged in under this duty's AppRole; each call logs in afresh, as each session did."""
        return Vault(self.where())


class WarehouseResource(ConfigurableResource):
    """The PostgreSQL warehouse: TLS with full verification; each role's password is read from Vault."""

    host: str
    port: int
    database: str
    ca_file: str

    def where(self) -> WarehouseAddress:
        return WarehouseAddress(self.host, self.port, self.database, Path(self.ca_file))

    def connect(self, vault: Vault, *, role: str = "pipeline", autocommit: bool = False) -> psycopg.Connection:
        """A connection as `role`, whose password `vault` (that duty's login) reads; use it as `with ... as conn`."""
        return connect(self.where(), vault, role=role, autocommit=autocommit)


class LandingZoneResource(ConfigurableResource):
    """The encrypted landing zone (AES-256-GCM envelopes, one file each)."""

    directory: str

    def open(self) -> LocalLandingZone:
        return LocalLandingZone(Path(self.directory))


def settings_of(warehouse: WarehouseResource, vault: VaultResource, landing_zone: LandingZoneResource) -> Settings:
    """The three resources as the domain code's Settings (the servers of one duty's session)."""
    return Settings(
        pg_host=warehouse.host, pg_port=warehouse.port, pg_database=warehouse.database,
        ca_file=Path(warehouse.ca_file), vault_addr=vault.address,
        vault_approle_file=duty_approle_file(Path(vault.approle_file), vault.duty),
        landing_dir=Path(landing_zone.directory),
    ).checked()


def run_session(warehouse: WarehouseResource, vault: VaultResource,
                landing_zone: LandingZoneResource) -> AbstractContextManager[PlatformSession]:
    """Vault (one login of `vault`'s duty), the warehouse as the pipeline role, the landing zone and the tenant
    registry, for one step, sensor tick or check: the session `retkee` opens (orchestration/session.py, the one
    place that opens it), from the resources instead of the environment."""
    return open_session(settings_of(warehouse, vault, landing_zone))


def compliance_session(warehouse: WarehouseResource, compliance_vault: VaultResource,
                       landing_zone: LandingZoneResource) -> AbstractContextManager[ComplianceSession]:
    """The compliance officer's session (compliance/session.py: its duty, its role) from the resources."""
    return open_compliance_session(settings_of(warehouse, compliance_vault, landing_zone))


# Duties the code location's runs log in as, by resource name (docs/architecture.md, "Vault layout").
VAULT_DUTIES = {"pipeline_vault": "pipeline", "erasure_vault": "erasure", "key_release_vault": "key-release",
                "rotation_vault": "rotation", "compliance_vault": "compliance"}


def code_location_resources() -> dict[str, ConfigurableResource]:
    """Every resource, configured from the environment when a run, sensor or check starts (EnvVar is read then,
    never at import)."""
    ca_file = EnvVar("RETKEE_CA_FILE")
    vaults = {name: VaultResource(address=EnvVar("RETKEE_VAULT_ADDR"), ca_file=ca_file,
                                  approle_file=EnvVar("RETKEE_VAULT_APPROLE_FILE"), duty=duty)
              for name, duty in VAULT_DUTIES.items()}
    warehouse = WarehouseResource(host=EnvVar("RETKEE_PG_HOST"), port=EnvVar.int("RETKEE_PG_PORT"),
                                  database=EnvVar("RETKEE_PG_DATABASE"), ca_file=ca_file)
    landing_zone = LandingZoneResource(directory=EnvVar("RETKEE_LANDING_DIR"))
    return {
        "warehouse": warehouse,
        **vaults,
        "landing_zone": landing_zone,
    }
