"""The dbt project's manifest as data: where it is built, and which raw tables each model reads.

Dagster-free, so compliance (the access log, the report) can follow dbt lineage without loading the code
location. The manifest is built at build time (`make manifest`, orchestration/transform/dbt_project.py);
this only reads it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from orchestration.errors import RetkeeError

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"
# The tenant the project is parsed for (the default of every env_var('RETKEE_TENANT_ID', ...) in it); the
# tenant runner re-targets its schemas to each real tenant (orchestration/transform/tenant_runner.py).
TEMPLATE_TENANT = "tenant_template"


class ManifestNotBuilt(RetkeeError, RuntimeError):
    """The dbt manifest is a build artifact and has not been built in this checkout."""


def check_built(path: Path = MANIFEST_PATH) -> Path:
    if not path.exists():
        raise ManifestNotBuilt(f"the dbt manifest {path} is not built: run `make manifest`")
    return path


@cache
def read_manifest() -> Mapping[str, Any]:
    """The built manifest, read once per process (a new manifest comes with a code location reload)."""
    return json.loads(check_built().read_text())


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


def asset_key_path(node: Mapping[str, Any]) -> list[str]:
    """A dbt node's asset key: [layer, name], so the raw table Python loads and the dbt source that reads it are
    one asset (["raw", "orders"]); a source is [source name, table]."""
    if node["resource_type"] == "source":
        return [node["source_name"], node["name"]]
    fqn = node["fqn"]
    return [fqn[1] if len(fqn) > 2 else "models", node["name"]]
