"""The test session starts from the same build step as `make test`: the dbt manifest (a build artifact the code
location reads, never parses) is rebuilt when a file of dbt_project/ is newer than it, by `make manifest`.

It also holds the session's one pipeline stack: TLS PostgreSQL, OpenBao, the SP-API sandbox and a Dagster
instance, in a temporary data dir on free ports, with the sandbox 100x faster than Amazon (time-scale 0.01).
tests/integration and tests/security both run on it (fixtures defined in each folder's conftest, even the same
function assigned twice, are two fixtures to pytest: a session then started and kept two stacks). It is started
when the first test asks for it and torn down at the end; tests talk to it only through the product's code.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack import StackConfig
from local_stack.demo import DemoSeller, register_seller
from local_stack.throwaway import throwaway_stack
from tests.integration.conftest import US

ROOT = Path(__file__).resolve().parents[1]


def pytest_sessionstart(session) -> None:
    subprocess.run(["make", "--no-print-directory", "-s", "manifest"], cwd=ROOT, check=True)  # noqa: S607


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
