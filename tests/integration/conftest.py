"""A whole real stack for pipeline tests: TLS PostgreSQL, OpenBao, the SP-API sandbox, a Dagster instance.

Started once per test session in a temporary data dir on free ports, with the sandbox 100x faster than
Amazon (time-scale 0.01), and torn down at the end. Tests talk to it only through the product's code.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from local_stack import Stack, StackConfig
from local_stack.demo import DemoSeller, ensure_dagster_home, register_seller
from local_stack.ports import free_port
from local_stack.settings import dagster_env

US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"


@pytest.fixture(scope="session")
def pipeline_stack() -> Iterator[StackConfig]:
    root = Path(tempfile.mkdtemp(prefix="retkee-pipeline-test-"))
    root.chmod(0o711)  # PostgreSQL's OS user must be able to enter it
    vault_port = free_port()
    config = StackConfig(
        data_dir=root / "data",
        pg_port=free_port(),
        vault_port=vault_port,
        vault_cluster_port=free_port(),
        sandbox_port=free_port(),
        dagster_port=free_port(),
        sandbox_time_scale=0.01,
    )
    stack = Stack(config)
    saved = dict(os.environ)
    try:
        stack.up()
        ensure_dagster_home(config)
        os.environ.update(dagster_env(config))
        # The sandbox refills its rate-limit buckets 100x faster; so may the pipeline's own limiter.
        os.environ["RETKEE_SPAPI_RATE_SCALE"] = str(config.sandbox_time_scale)
        yield config
    finally:
        os.environ.clear()
        os.environ.update(saved)
        stack.clean()
        shutil.rmtree(root, ignore_errors=True)


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
