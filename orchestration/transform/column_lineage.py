"""Column lineage of every dbt model (which upstream columns each column is computed from), for compliance.

dagster-dbt emits `dagster/column_lineage` only from `DbtCliResource.cli(...).stream().fetch_column_metadata()`,
which asks the database for the columns of each table it has just built and of that table's parents. Our
models are built by the in-process tenant runner (tenant_runner.py), so that path never runs. The lineage does
not depend on the tenant (one SQL, per-tenant schemas), so it is computed once per version of the project,
without a database, and attached to every tenant's materializations (orchestration/defs/marts.py):

1. dbt compiles the project for the template tenant. `is_incremental()` is answered False, because answering
   it needs the database: an incremental model's lineage is that of its full build, which covers every column
   (the incremental filter only chooses which days are rebuilt).
2. The raw tables' columns are read from the pipeline's own DDL (load/raw_tables.py, costs/store.py), so they
   are the columns `prepare_tenant_sources` creates. Each model's columns are then read from its compiled SQL,
   parents first, so every model's parents are known when its turn comes.
3. dagster-dbt's own lineage builder turns each model's compiled SQL and its parents' columns into a
   `TableColumnLineage` (with sqlglot) keyed by the translator's asset keys: what `fetch_column_metadata` would
   emit, and a staging column points at its raw table's extraction asset (["raw", "orders"]).

The result is kept beside the manifest (target/column_lineage.json) and rebuilt only when the manifest, the raw
DDL or the code that computes it change.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Mapping
from graphlib import TopologicalSorter
from importlib.metadata import version
from pathlib import Path
from typing import Any

from dagster import MetadataValue, TableColumnLineage, deserialize_value, get_dagster_logger, serialize_value
from dagster_dbt import DagsterDbtTranslator, DbtProject

# Private in dagster-dbt 0.29, and reused on purpose: the same lineage `fetch_column_metadata` emits. If an upgrade
# changes it, tests/unit/test_column_lineage.py fails (every model must have lineage).
from dagster_dbt.core.dbt_cli_event import EventHistoryMetadata, _build_column_lineage_metadata
from sqlglot import MappingSchema, exp, parse_one
from sqlglot.optimizer import optimize

from orchestration.costs.store import ensure_unit_costs_table
from orchestration.fx.store import SCHEMA as REFERENCE_SCHEMA
from orchestration.fx.store import ensure_fx_rates_table
from orchestration.load.datasets import DATASETS
from orchestration.load.raw_tables import ensure_tables
from orchestration.transform.tenant_runner import TEMPLATE_TENANT, _environment
from orchestration.whole_files import write_whole

logger = get_dagster_logger()

DIALECT = "postgres"
LINEAGE_KEY = "dagster/column_lineage"  # where Dagster, like dagster-dbt, keeps a table's column lineage
# Any valid tenant id: only table and column names are kept from the DDL rendered for it.
_DDL_TENANT = "t000000000000"
_FULL_BUILD_IS_INCREMENTAL = "{% macro is_incremental() %}{{ return(False) }}{% endmacro %}"

Columns = dict[str, dict[str, str]]  # column name -> {"data_type": ...}, the shape dagster-dbt's builder takes


class _DdlRecorder:
    """Stands in for a cursor and keeps the statements the pipeline's DDL functions would send to Postgres."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def execute(self, query: Any, params: Any = None) -> None:
        self.statements.append(query if isinstance(query, str) else query.as_string())


def raw_ddl() -> list[str]:
    """The `create table` statements for a tenant's raw and quarantine tables, as issued before every build."""
    recorder = _DdlRecorder()
    for dataset in DATASETS.values():
        ensure_tables(recorder, _DDL_TENANT, dataset)  # type: ignore[arg-type]
    ensure_unit_costs_table(recorder, _DDL_TENANT)  # type: ignore[arg-type]
    ensure_fx_rates_table(recorder)  # type: ignore[arg-type]
    return [s for s in recorder.statements if s.lstrip().lower().startswith("create table")]


def raw_table_columns() -> dict[str, Columns]:
    """Raw table name -> its columns and their SQL types."""
    tables: dict[str, Columns] = {}
    for statement in raw_ddl():
        create = parse_one(statement, dialect=DIALECT)
        table = create.find(exp.Table)
        if table is None or not (table.db.endswith("_raw") or table.db == REFERENCE_SCHEMA):
            continue  # the quarantine tables, which no model reads
        tables[table.name] = {
            column.name: {"data_type": column.args["kind"].sql(DIALECT)}
            for column in create.this.expressions
            if isinstance(column, exp.ColumnDef)
        }
    return tables


def compile_project(project: DbtProject, target_path: Path) -> dict[str, Any]:
    """Compile every model into `target_path` without a database; returns that compile's manifest."""
    from dbt.cli.main import dbtRunner

    common = [
        "--project-dir", str(project.project_dir),
        "--profiles-dir", str(project.profiles_dir),
        "--target-path", str(target_path),
        "--log-path", str(target_path / "logs"),
    ]
    with _environment({"RETKEE_TENANT_ID": TEMPLATE_TENANT}):
        parsed = dbtRunner().invoke(["parse", "--quiet", "--no-partial-parse", *common])
        if not parsed.success or parsed.result is None:
            raise RuntimeError(f"dbt parse failed for {project.project_dir}: {parsed.exception}")
        manifest = parsed.result
        manifest.macros["macro.dbt.is_incremental"].macro_sql = _FULL_BUILD_IS_INCREMENTAL
        # No introspective queries and no relation cache: dbt never opens a connection.
        compiled = dbtRunner(manifest=manifest).invoke(
            ["compile", "--quiet", "--no-introspect", "--no-populate-cache",
             "--select", "resource_type:model", "--indirect-selection", "empty", *common]
        )
        if not compiled.success:
            raise RuntimeError(f"dbt compile failed for {project.project_dir}: {compiled.exception}")
    return json.loads((target_path / "manifest.json").read_text())


def build_column_lineage(project: DbtProject, translator: DagsterDbtTranslator) -> dict[str, TableColumnLineage]:
    """Model unique id -> the lineage of each of its columns, from the compiled project (a few seconds)."""
    raw_columns = raw_table_columns()
    with tempfile.TemporaryDirectory(prefix="retkee-lineage-") as scratch:
        target_path = Path(scratch)
        manifest = compile_project(project, target_path)
        resources = {**manifest["sources"], **manifest["nodes"]}
        columns_of = {  # relation name -> columns; models are added as their turn comes
            source["relation_name"]: raw_columns[source["name"]]
            for source in manifest["sources"].values()
            if source["name"] in raw_columns
        }
        # Seeds (the fee taxonomy) are tables of text columns named by their CSV header.
        for node in manifest["nodes"].values():
            if node["resource_type"] == "seed":
                header = (Path(node["root_path"]) / node["original_file_path"]).read_text().splitlines()[0]
                columns_of[node["relation_name"]] = {name: {"data_type": "text"} for name in header.split(",")}
        models = {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
        parents_first = TopologicalSorter(
            {uid: [p for p in node["depends_on"]["nodes"] if p in models] for uid, node in models.items()}
        ).static_order()
        lineage: dict[str, TableColumnLineage] = {}
        for unique_id in parents_first:
            node = models[unique_id]
            parent_relations = [resources[p]["relation_name"] for p in node["depends_on"]["nodes"] if p in resources]
            parents = {relation: columns_of.get(relation, {}) for relation in parent_relations}
            compiled = target_path / "compiled" / node["package_name"] / node["original_file_path"]
            try:
                # dagster-dbt's builder reads this file: it gets the SQL sqlglot can follow.
                compiled.write_text(_with_series_columns_named(compiled.read_text()))
                columns = columns_of[node["relation_name"]] = _output_columns(compiled.read_text(), parents)
                metadata = _build_column_lineage_metadata(
                    event_history_metadata=EventHistoryMetadata(columns=columns, parents=parents),
                    dbt_resource_props=node,
                    manifest=manifest,
                    dagster_dbt_translator=translator,
                    target_path=target_path,
                    project=project,
                )
            except Exception:  # SQL sqlglot cannot follow costs that model its lineage, not the others theirs
                logger.warning(f"no column lineage for {unique_id}", exc_info=True)
                continue
            lineage[unique_id] = metadata[LINEAGE_KEY]
    return lineage


def _with_series_columns_named(compiled_sql: str) -> str:
    """In Postgres `generate_series(...) as day` names its one column `day`; sqlglot does not know that rule and
    cannot resolve `day`. Spelling the column out (`as day(day)`) means the same to Postgres."""

    def name_the_column(node: exp.Expression) -> exp.Expression:
        alias = node.args.get("alias")
        if (
            isinstance(node, (exp.Lateral, exp.Table))
            and isinstance(node.this, (exp.GenerateSeries, exp.ExplodingGenerateSeries))
            and isinstance(alias, exp.TableAlias)
            and not alias.columns
        ):
            alias.set("columns", [alias.this.copy()])
        return node

    return parse_one(compiled_sql, dialect=DIALECT).transform(name_the_column).sql(dialect=DIALECT)


def _output_columns(compiled_sql: str, parents: Mapping[str, Columns]) -> Columns:
    """The columns a model's SQL produces, with their types as far as sqlglot can tell."""
    schema = MappingSchema(dialect=DIALECT)
    for relation, columns in parents.items():
        schema.add_table(relation, {name: meta["data_type"] for name, meta in columns.items()}, dialect=DIALECT)
    query = optimize(parse_one(compiled_sql, dialect=DIALECT), schema=schema, dialect=DIALECT)
    return {
        select.alias_or_name.lower(): {"data_type": select.type.sql(DIALECT) if select.type else "unknown"}
        for select in query.selects
    }


def load_column_lineage(project: DbtProject, translator: DagsterDbtTranslator) -> dict[str, TableColumnLineage]:
    """The lineage of every model: read from target/column_lineage.json when that was built from this manifest,
    raw DDL and code; otherwise built and kept there for every later run."""
    cache = Path(project.manifest_path).with_name("column_lineage.json")
    fingerprint = _fingerprint(Path(project.manifest_path))
    if cache.exists():
        stored = deserialize_value(cache.read_text(), as_type=dict)
        if stored.get("fingerprint") == fingerprint:
            return stored["lineage"]
    lineage = build_column_lineage(project, translator)
    # Whole or not at all: runs that start together never read half a file.
    write_whole(cache, serialize_value({"fingerprint": fingerprint, "lineage": lineage}).encode())
    return lineage


def _fingerprint(manifest_path: Path) -> str:
    digest = hashlib.sha256(manifest_path.read_bytes())
    digest.update(Path(__file__).read_bytes())
    for part in [*raw_ddl(), version("dagster-dbt"), version("sqlglot")]:
        digest.update(part.encode())
    return digest.hexdigest()


def lineage_metadata(lineage: TableColumnLineage | None) -> dict[str, Any]:
    """Materialization metadata for one model: Dagster's column lineage entry, and the same facts as a table.

    Dagster draws column lineage from `dagster/column_lineage` in Dagster+ only; the open-source UI hides that
    entry, so `upstream_columns` shows every column's sources as Markdown on each materialization."""
    if lineage is None:
        return {}
    rows = [
        f"| `{column}` | "
        + (", ".join(sorted(f"`{dep.asset_key.to_user_string()}.{dep.column_name}`" for dep in deps))
           or "no column (a constant or a row count)")
        + " |"
        for column, deps in sorted(lineage.deps_by_column.items())
    ]
    return {
        LINEAGE_KEY: lineage,
        "upstream_columns": MetadataValue.md("\n".join(["| column | computed from |", "| --- | --- |", *rows])),
    }
