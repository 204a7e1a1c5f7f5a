"""The dbt project as Dagster sees it, and how dbt nodes are named as assets.

Asset keys are [layer, name]: the raw orders table loaded by Python and the dbt source that reads it are
the same asset (["raw", "orders"]), so lineage runs report -> raw table -> staging -> mart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import AssetKey, AssetSpec
from dagster_dbt import DagsterDbtTranslator, DbtProject

from orchestration.compliance.classification import compliance_metadata, compliance_tags, strictest
from orchestration.load.datasets import DATASETS

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def ensure_manifest() -> Path:
    """Parse the project if its manifest is missing (a fresh clone) or older than any project file (an edited
    model); parsing needs no database. The template tenant is parsed: schemas are re-targeted per tenant."""
    if _manifest_is_stale(dbt_project.manifest_path):
        from dbt.cli.main import dbtRunner

        saved = os.environ.pop("RETKEE_TENANT_ID", None)
        try:
            result = dbtRunner().invoke(
                ["parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
            )
        finally:
            if saved is not None:
                os.environ["RETKEE_TENANT_ID"] = saved
        if not result.success or not dbt_project.manifest_path.exists():
            raise RuntimeError(f"dbt parse failed for {DBT_PROJECT_DIR}: {result.exception}")
    return dbt_project.manifest_path


def upstream_raw_tables(manifest: Mapping[str, Any], unique_id: str) -> set[str]:
    """Names of the raw tables (dbt sources) a node reads, directly or through other models."""
    found: set[str] = set()
    pending, seen = [unique_id], set()
    while pending:
        node_id = pending.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        if node_id.startswith("source."):
            found.add(manifest["sources"][node_id]["name"])
            continue
        node = manifest.get("nodes", {}).get(node_id, {})
        pending.extend(node.get("depends_on", {}).get("nodes", []))
    return found


def _manifest_is_stale(manifest_path: Path) -> bool:
    if not manifest_path.exists():
        return True
    built = manifest_path.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "tests", "seeds"):
        sources += [p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.suffix in (".sql", ".yml", ".yaml", ".csv")]
    return any(p.exists() and p.stat().st_mtime > built for p in sources)


class RetkeeDbtTranslator(DagsterDbtTranslator):
    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> AssetSpec:
        """dbt's own spec (column descriptions included), plus the compliance labels of the raw data it reads."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        if not unique_id.startswith(("model.", "seed.", "snapshot.")):
            return spec
        datasets = [DATASETS[name] for name in upstream_raw_tables(manifest, unique_id) if name in DATASETS]
        classification = strictest(d.classification for d in datasets)
        return spec.merge_attributes(
            metadata=compliance_metadata(classification, [d.report_type for d in datasets]),
            tags=compliance_tags(classification),
        )

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        layer = dbt_resource_props["fqn"][1] if len(dbt_resource_props["fqn"]) > 2 else "models"
        return AssetKey([layer, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "transform"
