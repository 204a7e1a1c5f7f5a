"""The dbt project as Dagster sees it, and how dbt nodes are named as assets.

Asset keys are [layer, name]: the raw orders table loaded by Python and the dbt source that reads it are
the same asset (["raw", "orders"]), so lineage runs report -> raw table -> staging -> mart.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import AssetKey
from dagster_dbt import DagsterDbtTranslator, DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def ensure_manifest() -> Path:
    """Parse the project once if no manifest exists yet (a fresh clone); parsing needs no database."""
    if not dbt_project.manifest_path.exists():
        from dbt.cli.main import dbtRunner

        result = dbtRunner().invoke(
            ["parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
        )
        if not result.success or not dbt_project.manifest_path.exists():
            raise RuntimeError(f"dbt parse failed for {DBT_PROJECT_DIR}: {result.exception}")
    return dbt_project.manifest_path


class RetkeeDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        layer = dbt_resource_props["fqn"][1] if len(dbt_resource_props["fqn"]) > 2 else "models"
        return AssetKey([layer, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "transform"
