"""A whole real stack for pipeline tests: TLS PostgreSQL, OpenBao, the SP-API sandbox, a Dagster instance.

Started once per test session in a temporary data dir on free ports, with the sandbox 100x faster than
Amazon (time-scale 0.01), and torn down at the end. Tests talk to it only through the product's code.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from local_stack import StackConfig
from local_stack.demo import DemoSeller, register_seller
from local_stack.throwaway import throwaway_stack

US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"


@pytest.fixture(scope="session")
def pipeline_stack() -> Iterator[StackConfig]:
    # The sandbox refills its rate-limit buckets 100x faster; the pipeline's own limiter follows
    # (RETKEE_SPAPI_RATE_SCALE, set from the stack's time scale).
    with throwaway_stack("retkee-pipeline-test-", time_scale=0.01) as config:
        yield config


@pytest.fixture(scope="session")
def settings(pipeline_stack):
    from orchestration.settings import Settings

    return Settings.from_env()


@pytest.fixture(scope="session")
def instance(pipeline_stack):
    from dagster import DagsterInstance

    with DagsterInstance.get() as dagster_instance:
        yield dagster_instance


@pytest.fixture(scope="session")
def onboard(pipeline_stack, settings):
    """Authorize a fresh seller in the sandbox and onboard it as a tenant; returns (seller, tenant)."""
    from orchestration.defs.resources import open_session
    from orchestration.secrets.redaction import Secret
    from orchestration.secrets.vault import Vault
    from orchestration.tenants.onboarding import onboard_seller

    def _onboard(seller_id: str, marketplaces=(US,), profile=None):
        seller = DemoSeller(seller_id, "na", tuple(marketplaces), profile or {"skus": 6, "orders_per_day": 12})
        token = register_seller(pipeline_stack, seller)
        with open_session(settings) as session:
            tenant = onboard_seller(
                session.conn,
                Vault(settings.for_duty("onboarding")),
                seller_id=seller.seller_id,
                region=seller.region,
                marketplace_ids=list(seller.marketplace_ids),
                refresh_token=Secret(token),
            )
        return seller, tenant

    return _onboard


def settled_days(count: int) -> list[date]:
    """Days old enough that every order on them is in its final state (shipped or cancelled)."""
    last = (datetime.now(UTC) - timedelta(days=5)).date()
    return [last - timedelta(days=offset) for offset in range(count - 1, -1, -1)]


def world_for(config: StackConfig):
    from spapi_sandbox.world import load_world

    return load_world(config.sandbox_dir)


__all__ = ["US", "CA", "settled_days", "world_for", "replace"]
