"""dbt models as Dagster assets, built per tenant into that tenant's own schemas.

dagster-dbt's `@dbt_assets` declares the assets (every model, with lineage from the raw tables) and the
asset checks (every dbt data test). The build itself does not start a dbt CLI process per tenant: it runs
in this process through `TenantDbtRunner`, which loads the manifest built by `make manifest` once and
re-targets it per tenant (orchestration/transform/tenant_runner.py), and each dbt result becomes a
MaterializeResult or an AssetCheckEvaluation here as dbt finishes the node (Dagster writes it while dbt goes on),
so the UI shows the same materializations and checks as with `dbt build`, column lineage included (computed
once from the compiled project: orchestration/transform/column_lineage.py).
"""


import json
import queue
from collections.abc import Callable, Generator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Config,
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


DagsterEvent = MaterializeResult | AssetCheckEvaluation


@dataclass(frozen=True)
class SelectedChecks:
    """The dbt tests the run reports, as asset checks: their specs by key, and the run's partition (the tenant),
    which a partitioned check's evaluation belongs to.

    A test's verdict is handed to Dagster as the evaluation itself, not as an AssetCheckResult: for a result,
    Dagster looks up the checked model's latest materialization in the event log (one query per test, ~60 per
    tenant) and writes an output event beside the evaluation. The model's materialization is in the same run,
    which is how the UI ties the two together without that look-up."""

    specs: Mapping[AssetCheckKey, AssetCheckSpec] = field(default_factory=dict)
    partition: str | None = None

    @classmethod
    def of_run(cls, context: AssetExecutionContext) -> "SelectedChecks":
        return cls({key: context.assets_def.get_spec_for_check_key(key) for key in context.selected_asset_check_keys},
                   context.partition_key if context.has_partition_key else None)

    def evaluation(self, key: AssetCheckKey, outcome: NodeOutcome) -> AssetCheckEvaluation:
        spec = self.specs[key]
        return AssetCheckEvaluation(
            asset_key=key.asset_key,
            check_name=key.name,
            passed=outcome.status == "pass",
            severity=AssetCheckSeverity.WARN if outcome.status == "warn" else AssetCheckSeverity.ERROR,
            metadata={"status": outcome.status, "failing_rows": outcome.failures or 0, "unique_id": outcome.unique_id},
            blocking=spec.blocking,  # a blocking test that fails with ERROR fails the step, as with a result
            partition=self.partition if spec.partitions_def is not None else None,
        )


def dagster_event(outcome: NodeOutcome, checks: SelectedChecks,
                  extra: Mapping[str, Any] | None = None) -> DagsterEvent | None:
    """A built model's MaterializeResult (with `extra` metadata), a data test's AssetCheckEvaluation, or None for
    a node that gives neither (a skipped node, a failed model, a check not selected)."""
    if outcome.resource_type in ("model", "seed", "snapshot") and outcome.status == "success":
        return MaterializeResult(asset_key=asset_key_for(outcome.unique_id),
                                 metadata={**_metadata(outcome), **(extra or {})})
    if outcome.resource_type == "test" and outcome.status != "skipped":
        key = check_key_for(outcome.unique_id)
        if key is not None and key in checks.specs:
            return checks.evaluation(key, outcome)
    return None


def _model_name(unique_id: str) -> str:
    return unique_id.rsplit(".", 1)[-1]


def dagster_events(
    build: TenantBuild, checks: SelectedChecks, extra: Mapping[str, Mapping[str, Any]] | None = None,
    already: frozenset[str] = frozenset(),
) -> Iterator[DagsterEvent]:
    """One MaterializeResult per model dbt built (with `extra` metadata by model name), one AssetCheckEvaluation
    per data test dbt ran; nodes in `already` (yielded while dbt ran) are left out."""
    for outcome in build.outcomes:
        if outcome.unique_id not in already:
            event = dagster_event(outcome, checks, (extra or {}).get(_model_name(outcome.unique_id)))
            if event is not None:
                yield event


def events_while_building(
    build: Callable[[Callable[[NodeOutcome], None]], TenantBuild], checks: SelectedChecks,
    held: frozenset[AssetKey] = frozenset(),
) -> Generator[DagsterEvent, None, tuple[TenantBuild, frozenset[str]]]:
    """Runs `build(on_node)` in a thread and yields each node's event as dbt finishes it, so that Dagster writes
    the events while dbt works on the next nodes instead of all of them after the build (a few hundred events,
    one storage write each). The events of the assets in `held` (a model's and its checks', which must follow
    its materialization) wait for the caller: their metadata needs the finished build. Returns the build and the
    nodes whose events were yielded; `dagster_events(..., already=...)` gives the rest from the build's record."""
    finished: queue.Queue[NodeOutcome | None] = queue.Queue()
    yielded: set[str] = set()
    with ThreadPoolExecutor(1, thread_name_prefix="dbt-build") as pool:
        running = pool.submit(build, finished.put)
        running.add_done_callback(lambda _: finished.put(None))  # after every on_node: dbt has returned
        while (outcome := finished.get()) is not None:
            if outcome.unique_id in yielded:
                continue
            event = dagster_event(outcome, checks)
            if event is not None and event.asset_key not in held:
                yielded.add(outcome.unique_id)
                yield event
        return running.result(), frozenset(yielded)


@cache
def column_lineage() -> Mapping[str, TableColumnLineage]:
    """Every model's column lineage, the same for every tenant; built at most once per project version (the
    marts step asks for it before dbt starts, so it never runs dbt beside the tenant runner). Like dagster-dbt,
    a model whose lineage cannot be computed is still materialized, without it."""
    try:
        return load_column_lineage(dbt_project, TRANSLATOR)
    except Exception:
        get_dagster_logger().warning("dbt column lineage could not be computed; materializations omit it",
                                     exc_info=True)
        return {}


PNL_MART = "fct_profit_and_loss"


@cache
def pnl_mart_key() -> AssetKey:
    """The P&L mart's asset key, from the manifest (the translator decides it)."""
    nodes = manifest_json()["nodes"]
    return asset_key_for(next(u for u, n in nodes.items() if n["resource_type"] == "model" and n["name"] == PNL_MART))


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


class MartsBuildConfig(Config):
    """Run config of a marts build. `full_refresh` rebuilds the incremental marts whole (dbt's --full-refresh):
    needed after a change to the fee taxonomy seed or an exchange-rate import older than their window
    (docs/operations.md)."""

    full_refresh: bool = False


@dbt_assets(
    manifest=MANIFEST_PATH,
    partitions_def=TENANTS,
    dagster_dbt_translator=TRANSLATOR,
    name="tenant_models",
)
def tenant_models(context: AssetExecutionContext, config: MartsBuildConfig, warehouse: WarehouseResource,
                  pipeline_vault: VaultResource):
    tenant_id = context.partition_key
    vault = pipeline_vault.login()
    with warehouse.connect(vault) as conn:
        if TenantRegistry(conn).get(tenant_id).status != "active":
            context.log.info(f"tenant {tenant_id} is not active; its models are not built")
            return
        username, password = vault.warehouse_login()
        tenant_settings = get_settings(conn, tenant_id)
        conn.commit()
        checks, select = SelectedChecks.of_run(context), selected_models(context)
        column_lineage()  # before dbt starts: the events made while dbt builds carry it
        # All of it as the tenant's owner role; dbt's own connections follow through the profile's `role:`.
        with tenant_scope(conn, tenant_id):
            prepare_tenant_sources(conn, tenant_id)
            with tenant_build_lock(conn, tenant_id):
                grant_analyst_read(conn, tenant_id)
                build, yielded = yield from events_while_building(
                    lambda on_node: shared_runner().build(
                        tenant_id, dbt_environment(tenant_id, username, password.reveal()),
                        select=select, dbt_vars=tenant_settings.dbt_vars(),
                        full_refresh=config.full_refresh, on_node=on_node,
                    ),
                    checks, held=frozenset({pnl_mart_key()}),
                )
            chart = pnl_chart(conn, tenant_id, build)
    yield from dagster_events(build, checks, {PNL_MART: chart}, already=yielded)
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
