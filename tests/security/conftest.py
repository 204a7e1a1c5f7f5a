"""Security tests against a real stack: the session's pipeline stack (tests/conftest.py, shared with
tests/integration), one refreshed tenant.

A tenant is onboarded with a refresh token we know and one day is extracted and built, so planted values have
had every chance to leak.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

import psycopg
import pytest

from local_stack import StackConfig
from tests.integration.conftest import US, settled_days


def issue_analyst_login(settings, tenant_id: str | None = None, ttl: timedelta | None = None):
    """A login as an analyst gets one: from OpenBao, through the analyst-issuer duty (None: all tenants)."""
    from orchestration.secrets.vault import Vault
    from orchestration.serve.analyst_logins import ISSUER_DUTY, LOGIN_DEFAULT_TTL, issue_login

    return issue_login(Vault(settings.for_duty(ISSUER_DUTY)), tenant_id, ttl or LOGIN_DEFAULT_TTL)


def analyst_conninfo(settings, login) -> str:
    return login.conninfo(settings.pg_host, settings.pg_port, settings.pg_database, str(settings.ca_file))


def login_as_analyst(settings, tenant_id: str | None = None) -> psycopg.Connection:
    """A connection of an issued analyst login: one tenant's group, or (None) the all-tenants group of staff."""
    return psycopg.connect(analyst_conninfo(settings, issue_analyst_login(settings, tenant_id)), autocommit=True)


def admin_connect(config: StackConfig, dbname: str = "warehouse") -> psycopg.Connection:
    creds = json.loads(config.pg_superuser_file.read_text())
    return psycopg.connect(host="localhost", port=config.pg_port, dbname=dbname, user=creds["username"],
                           password=creds["password"], sslmode="verify-full", sslrootcert=str(config.ca_file),
                           autocommit=True)


@dataclass(frozen=True)
class RefreshedTenant:
    seller_id: str
    tenant_id: str
    refresh_token: str
    days: list
    report: object


# The orders slice only (report -> raw/orders -> staging -> marts/fct_daily_sales): enough to exercise Vault,
# the landing zone, the warehouse and Dagster's storage, and independent of the other datasets' pace.
ORDERS_SLICE = (("raw", "orders"),)
ORDERS_MODELS = (
    ("staging", "stg_amazon__orders"), ("intermediate", "int_order_items_grouped_by_day"), ("marts", "fct_daily_sales")
)


@dataclass
class SliceReport:
    succeeded: list = field(default_factory=list)
    failed: list = field(default_factory=list)


def refresh_orders_slice(instance, tenant_id: str, days) -> SliceReport:
    """What `retkee refresh` does, for the orders lineage only: Dagster runs recorded in the instance."""
    from dagster import AssetKey, MultiPartitionKey

    from orchestration.definitions import defs
    from orchestration.defs.partitions import TENANTS

    if tenant_id not in instance.get_dynamic_partitions(TENANTS.name):
        instance.add_dynamic_partitions(TENANTS.name, [tenant_id])
    report = SliceReport()
    runs = [("extract_reports", MultiPartitionKey({"tenant": tenant_id, "day": d.isoformat()}), ORDERS_SLICE)
            for d in days]
    runs.append(("build_marts", tenant_id, ORDERS_MODELS))
    for job_name, partition, keys in runs:
        result = defs.resolve_job_def(job_name).execute_in_process(
            instance=instance, partition_key=partition, raise_on_error=False,
            asset_selection=[AssetKey(list(k)) for k in keys])
        (report.succeeded if result.success else report.failed).append(f"{job_name} {partition}")
    return report


@pytest.fixture(scope="session")
def refreshed_tenant(pipeline_stack, settings, onboard, instance) -> RefreshedTenant:
    from orchestration.secrets.vault import Vault

    seller, tenant = onboard("A9SECURITYTEST1", marketplaces=(US,), profile={"skus": 4, "orders_per_day": 8})
    token = Vault(settings).refresh_token(tenant.tenant_id).reveal()
    days = settled_days(1)
    report = refresh_orders_slice(instance, tenant.tenant_id, days)
    return RefreshedTenant(seller.seller_id, tenant.tenant_id, token, days, report)


@pytest.fixture(scope="session")
def admin(pipeline_stack):
    with admin_connect(pipeline_stack) as conn:
        yield conn
