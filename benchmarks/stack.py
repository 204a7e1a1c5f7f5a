"""The throw-away stack every benchmark runs on, and the sellers the extraction benchmarks onboard.

`throwaway_stack` is local_stack's (the integration tests use it too: PostgreSQL and OpenBao, and given a time
scale the SP-API sandbox on that clock, in a temporary directory on free ports, the environment pointing at it
while inside) with the client's token cache scaled with the sandbox. Benchmarks never touch `.data/` or a
running `make run` stack.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

from local_stack import StackConfig
from local_stack.demo import DemoSeller, register_seller
from local_stack.throwaway import throwaway_stack as local_throwaway_stack
from spapi_sandbox.marketplaces import MARKETPLACES

# The python-amazon-sp-api client caches an access token for this many seconds whatever `expires_in` says;
# the sandbox ends a token's life after 3600 * time-scale seconds, so the cache must shrink with the clock.
CLIENT_TOKEN_CACHE_SECONDS = 3200
PROFILE = {"skus": 12, "orders_per_day": 40}


@contextmanager
def throwaway_stack(prefix: str, *, time_scale: float | None = None) -> Iterator[StackConfig]:
    """local_stack's throw-away stack; with `time_scale`, the SP-API client's token cache shrinks with the
    sandbox's clock too."""
    with local_throwaway_stack(prefix, time_scale=time_scale) as config:  # restores the environment after
        if time_scale is not None:
            os.environ["SP_API_AUTH_CACHE_TTL"] = str(max(1, int(CLIENT_TOKEN_CACHE_SECONDS * time_scale)))
            os.environ.pop("SP_API_DEFAULT_MARKETPLACE", None)  # it would override every seller's marketplace
        yield config


def seller_in(marketplace_count: int, label: str) -> DemoSeller:
    """A fresh seller in `marketplace_count` marketplaces of one region (North America up to 4, else Europe)."""
    region = "na" if marketplace_count <= 4 else "eu"
    ids = tuple(m.marketplace_id for m in MARKETPLACES.values() if m.region == region)
    if marketplace_count > len(ids):
        raise ValueError(f"the sandbox knows {len(ids)} marketplaces in {region}, not {marketplace_count}")
    seller_id = f"A1{label}{secrets.token_hex(4)}".upper()
    return DemoSeller(seller_id, region, ids[:marketplace_count], dict(PROFILE))


def onboard(config: StackConfig, sellers: list[DemoSeller]) -> list[str]:
    """Authorize our app for each seller in the sandbox and onboard it as the product does; the tenant ids."""
    from dagster import DagsterInstance

    from orchestration.defs.partitions import TENANTS
    from orchestration.defs.resources import open_session
    from orchestration.secrets.redaction import Secret
    from orchestration.secrets.vault import Vault
    from orchestration.settings import Settings
    from orchestration.tenants.onboarding import onboard_seller

    settings = Settings.from_env()
    onboarding = Vault(settings.for_duty("onboarding"))
    tenant_ids = []
    with open_session(settings) as session:
        for seller in sellers:
            token = register_seller(config, seller)
            tenant = onboard_seller(session.conn, onboarding, seller_id=seller.seller_id, region=seller.region,
                                    marketplace_ids=list(seller.marketplace_ids), refresh_token=Secret(token))
            tenant_ids.append(tenant.tenant_id)
    with DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(TENANTS.name, tenant_ids)
    return tenant_ids


def last_days(count: int) -> list[date]:
    """The `count` days ending yesterday (UTC), oldest first, as `retkee refresh --days N` asks them."""
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    return [yesterday - timedelta(days=offset) for offset in range(count - 1, -1, -1)]
