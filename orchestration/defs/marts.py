"""dbt models as Dagster assets, built per tenant into that tenant's own schemas."""

import os
import sys
from pathlib import Path

from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.defs.partitions import TENANTS
from orchestration.defs.resources import Platform
from orchestration.transform.dbt_project import RetkeeDbtTranslator, dbt_project, ensure_manifest
from orchestration.warehouse.schemas import check_tenant_id


def dbt_environment(tenant_id: str, username: str, password: str) -> dict[str, str]:
    """What one tenant's dbt invocation needs: which tenant, and the pipeline role's login from Vault."""
    return {
        "RETKEE_TENANT_ID": check_tenant_id(tenant_id),
        "RETKEE_DBT_USER": username,
        "RETKEE_DBT_PASSWORD": password,
    }


@dbt_assets(
    manifest=ensure_manifest(),
    partitions_def=TENANTS,
    dagster_dbt_translator=RetkeeDbtTranslator(),
    name="tenant_models",
)
def tenant_models(context: AssetExecutionContext, dbt: DbtCliResource, platform: Platform):
    tenant_id = context.partition_key
    with platform.session() as session:
        if session.registry.get(tenant_id).status != "active":
            context.log.info(f"tenant {tenant_id} is not active; its models are not built")
            return
        username, password = session.vault.warehouse_login()
    # dagster-dbt passes this process's environment to dbt; scope the values to this invocation.
    environment = dbt_environment(tenant_id, username, password.reveal())
    saved = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)
    try:
        yield from dbt.cli(["build"], context=context).stream()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def dbt_resource() -> DbtCliResource:
    # The dbt beside this interpreter: the project's own virtual environment, whatever PATH says.
    return DbtCliResource(project_dir=dbt_project, dbt_executable=str(Path(sys.executable).with_name("dbt")))
