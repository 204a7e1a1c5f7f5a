"""dbt models as Dagster assets, built per tenant into that tenant's own schemas.

dagster-dbt's `@dbt_assets` declares the assets (every model, with lineage from the raw tables) and the
asset checks (every dbt data test). The build itself does not start a dbt CLI process per tenant: it runs
in this process through `TenantDbtRunner`, which loads the manifest built by `make manifest` once and
re-targets it per tenant (orchestration/transform/tenant_runner.py), and each dbt result becomes a
MaterializeResult or an AssetCheckResult here, so the UI shows the same materializations and checks as with
`dbt build`, column lineage included (computed once from the compiled project:
orchestration/transform/column_lineage.py).
"""


import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    Definitions,
    Failure,
    MaterializeResult,
    MetadataValue,
    TableColumnLineage,
    define_asset_job,
    get_dagster_logger,
)
from dagster_dbt import DbtCliResource, dbt_assets
from dagster_dbt.asset_utils import get_asset_check_key_for_test

from orchestration.costs.store import ensure_unit_costs_table
from orchestration.defs.partitions import TENANTS
from orchestration.defs.resources import VaultResource, WarehouseResource
from orchestration.load.datasets import DATASETS
from orchestration.load.raw_tables import ensure_tables
from orchestration.serve.seller_page import gather
from orchestration.serve.seller_page_render import waterfall_markdown
from orchestration.tenants.registry import TenantRegistry
from orchestration.tenants.settings import get_settings
from orchestration.transform.column_lineage import lineage_metadata, load_column_lineage
from orchestration.transform.dbt_project import DBT_EXECUTABLE, RetkeeDbtTranslator, dbt_project, manifest_path
from orchestration.transform.tenant_runner import NodeOutcome, TenantBuild, shared_runner
from orchestration.warehouse.grants import grant_analyst_read, tenant_scope
from orchestration.warehouse.schemas import check_tenant_id

TRANSLATOR = RetkeeDbtTranslator()
MANIFEST_PATH = manifest_path()  # built at build time (`make manifest`); reading it parses nothing


def dbt_environment(tenant_id: str, username: str, password: str) -> dict[str, str]:
    """What one tenant's dbt invocation needs: which tenant, and the pipeline role's login from Vault."""
    return {
        "RETKEE_TENANT_ID": check_tenant_id(tenant_id),
        "RETKEE_DBT_USER": username,
        "RETKEE_DBT_PASSWORD": password,
    }


def prepare_tenant_sources(conn: psycopg.Connection, tenant_id: str) -> None:
    """Every raw table the models read exists (empty until its first load), so a tenant whose first
    extraction has not reached every dataset yet still gets all its marts."""
    with conn.transaction(), conn.cursor() as cur:
        for dataset in DATASETS.values():
            ensure_tables(cur, tenant_id, dataset)
        ensure_unit_costs_table(cur, tenant_id)


@contextmanager
def tenant_build_lock(conn: psycopg.Connection, tenant_id: str) -> Iterator[None]:
    """Two runs building the same tenant's models (a retry beside a scheduled run, two refreshes) take turns:
    dbt replaces tables by create-and-rename, which two concurrent builds would interleave."""
    key = f"marts:{check_tenant_id(tenant_id)}"
    conn.execute("select pg_advisory_lock(hashtext(%s))", (key,))
    conn.commit()
    try:
        yield
    finally:
        if not conn.closed:
            conn.rollback()
            conn.execute("select pg_advisory_unlock(hashtext(%s))", (key,))
            conn.commit()


@cache
def manifest_json() -> Mapping[str, Any]:
    return json.loads(Path(MANIFEST_PATH).read_text())


@cache
def asset_key_for(unique_id: str) -> AssetKey:
    return TRANSLATOR.get_asset_spec(manifest_json(), unique_id, dbt_project).key


@cache
def check_key_for(unique_id: str) -> AssetCheckKey | None:
    return get_asset_check_key_for_test(manifest_json(), TRANSLATOR, unique_id, dbt_project)


def selected_models(context: AssetExecutionContext) -> list[str]:
    """dbt selectors for the models Dagster asked for; empty = the whole project."""
    if not context.is_subset:
        return []
    wanted = set(context.selected_asset_keys)
    return [
        node["name"]
        for unique_id, node in manifest_json()["nodes"].items()
        if node["resource_type"] in ("model", "seed", "snapshot") and asset_key_for(unique_id) in wanted
    ]


def dagster_events(
    build: TenantBuild, selected_checks: set[AssetCheckKey], extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """One MaterializeResult per model dbt built (with `extra` metadata by model name), one AssetCheckResult per
    data test dbt ran."""
    for outcome in build.outcomes:
        if outcome.resource_type in ("model", "seed", "snapshot") and outcome.status == "success":
            yield MaterializeResult(asset_key=asset_key_for(outcome.unique_id), metadata={
                **_metadata(outcome), **(extra or {}).get(outcome.unique_id.rsplit(".", 1)[-1], {})})
        elif outcome.resource_type == "test" and outcome.status != "skipped":
            key = check_key_for(outcome.unique_id)
            if key is not None and key in selected_checks:
                yield AssetCheckResult(
                    asset_key=key.asset_key,
                    check_name=key.name,
                    passed=outcome.status == "pass",
                    severity=AssetCheckSeverity.WARN if outcome.status == "warn" else AssetCheckSeverity.ERROR,
                    metadata={"status": outcome.status, "failing_rows": outcome.failures or 0,
                              "unique_id": outcome.unique_id},
                )


@cache
def column_lineage() -> Mapping[str, TableColumnLineage]:
    """Every model's column lineage, the same for every tenant; built at most once per project version (after
    the first build, so it never runs dbt beside the tenant runner). Like dagster-dbt, a model whose lineage
    cannot be computed is still materialized, without it."""
    try:
        return load_column_lineage(dbt_project, TRANSLATOR)
    except Exception:
        get_dagster_logger().warning("dbt column lineage could not be computed; materializations omit it",
                                     exc_info=True)
        return {}


PNL_MART = "fct_profit_and_loss"


def pnl_chart(conn: psycopg.Connection, tenant_id: str, build: TenantBuild) -> dict[str, Any]:
    """The seller page's P&L waterfall of the last 30 days, one per currency, for the P&L mart's materialization
    (one small chart per tenant build). A chart that cannot be drawn leaves the materialization without it."""
    if not any(o.unique_id.endswith(f".{PNL_MART}") and o.status == "success" for o in build.outcomes):
        return {}
    try:
        page = gather(conn, tenant_id)
        conn.commit()
        return {"pnl_waterfall": MetadataValue.md(waterfall_markdown(page.sections))}
    except Exception:
        conn.rollback()
        get_dagster_logger().warning("the P&L waterfall could not be drawn; the materialization omits it",
                                     exc_info=True)
        return {}


def _metadata(outcome: NodeOutcome) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "unique_id": outcome.unique_id,
        "execution_duration": round(outcome.execution_time, 3),
        **lineage_metadata(column_lineage().get(outcome.unique_id)),
    }
    if outcome.rows_affected is not None:
        metadata["rows_affected"] = MetadataValue.int(int(outcome.rows_affected))
    return metadata


@dbt_assets(
    manifest=MANIFEST_PATH,
    partitions_def=TENANTS,
    dagster_dbt_translator=TRANSLATOR,
    name="tenant_models",
)
def tenant_models(context: AssetExecutionContext, warehouse: WarehouseResource, pipeline_vault: VaultResource):
    tenant_id = context.partition_key
    vault = pipeline_vault.login()
    with warehouse.connect(vault) as conn:
        if TenantRegistry(conn).get(tenant_id).status != "active":
            context.log.info(f"tenant {tenant_id} is not active; its models are not built")
            return
        username, password = vault.warehouse_login()
        tenant_settings = get_settings(conn, tenant_id)
        conn.commit()
        # All of it as the tenant's owner role; dbt's own connections follow through the profile's `role:`.
        with tenant_scope(conn, tenant_id):
            prepare_tenant_sources(conn, tenant_id)
            with tenant_build_lock(conn, tenant_id):
                grant_analyst_read(conn, tenant_id)
                build = shared_runner().build(
                    tenant_id, dbt_environment(tenant_id, username, password.reveal()),
                    select=selected_models(context), dbt_vars=tenant_settings.dbt_vars(),
                )
            chart = pnl_chart(conn, tenant_id, build)
    yield from dagster_events(build, set(context.selected_asset_check_keys), {PNL_MART: chart})
    context.log.info(
        f"dbt build of {tenant_id}: {len(build.outcomes)} nodes in {build.elapsed:.2f} s "
        f"({build.node_seconds:.2f} s inside nodes)"
    )
    if not build.success:
        raise Failure(
            description=f"dbt build failed for tenant {tenant_id}",
            metadata={"problems": MetadataValue.md("\n".join(f"- {p}" for p in build.problems()) or "-")},
        )


def dbt_resource() -> DbtCliResource:
    """The dbt CLI beside this interpreter, for ad-hoc use (`dbt docs generate`, debugging); builds use
    the in-process runner above."""
    return DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


marts_job = define_asset_job("build_marts", selection=[tenant_models])

# The marts concern of the code location (definitions.py merges it with the others).
marts_definitions = Definitions(assets=[tenant_models], jobs=[marts_job], resources={"dbt": dbt_resource()})
