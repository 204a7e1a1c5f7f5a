"""The platform resource: the session of orchestration/session.py (Vault, the warehouse, the landing zone)
handed to a run."""

from __future__ import annotations

from dagster import ConfigurableResource

from orchestration.session import PlatformSession, open_session

__all__ = ["Platform", "PlatformSession", "open_session"]


class Platform(ConfigurableResource):
    """Vault, warehouse and landing zone, configured from the environment (see orchestration/settings.py)."""

    def session(self):
        return open_session()
