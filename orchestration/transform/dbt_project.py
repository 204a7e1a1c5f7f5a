"""The dbt project as Dagster sees it, and how dbt nodes are named as assets.

Asset keys are [layer, name]: the raw orders table loaded by Python and the dbt source that reads it are
the same asset (["raw", "orders"]), so lineage runs report -> raw table -> staging -> mart.

The manifest is a build artifact (dagster-dbt's "prepare at build time"): `make manifest` runs
`python -m orchestration.transform.dbt_project` (dagster-dbt's `prepare_and_package`) when a file of
dbt_project/ is newer than the manifest. Importing this module, or the code
location, parses nothing, opens nothing and leaves the environment alone; under `dagster dev` only,
`prepare_if_dev` re-parses so an edited model shows up on reload (dagster-dbt's own convention).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import AssetKey, AssetSpec
from dagster_dbt import DagsterDbtTranslator, DbtProject

from orchestration.compliance.labels import model_labels
from orchestration.transform.manifest import (
    DBT_PROJECT_DIR,
    TEMPLATE_TENANT,
    ManifestNotBuilt,
    asset_key_path,
    check_built,
)

__all__ = ["DBT_PROJECT_DIR", "TEMPLATE_TENANT", "RetkeeDbtTranslator", "dbt_project", "manifest_path"]

# The dbt beside this interpreter: `make` does not put .venv/bin on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))


# The one DbtProject of the code location: the asset definitions, the dbt resource and the tenant runner all
# read its manifest.
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def manifest_path() -> Path:
    """The manifest built by `make manifest`; a one-line error if this checkout never built it."""
    dbt_project.prepare_if_dev()
    return check_built(dbt_project.manifest_path)


def build_manifest() -> Path:
    """Build time only, in a process of its own (`make manifest`, which decides when the manifest is stale):
    parse the project with dagster-dbt's `prepare_and_package`."""
    from dagster_dbt.cli.app import prepare_and_package

    # dagster-dbt's `dbt parse` child inherits this process's environment: parse for the template tenant,
    # whatever the shell has set, with the dbt of this environment (`make` does not put .venv/bin on PATH).
    os.environ["RETKEE_TENANT_ID"] = TEMPLATE_TENANT
    os.environ["PATH"] = os.pathsep.join([str(Path(DBT_EXECUTABLE).parent), os.environ.get("PATH", "")])
    # Its progress lines ("Preparing project ...") are kept back: `make run` prints one line for the manifest,
    # and shows them only if the parse fails.
    said = io.StringIO()
    try:
        with contextlib.redirect_stdout(said):
            prepare_and_package(dbt_project)
    except BaseException:
        sys.stdout.write(said.getvalue())
        raise
    if not dbt_project.manifest_path.exists():
        raise ManifestNotBuilt(f"dbt parse wrote no manifest at {dbt_project.manifest_path}")
    return dbt_project.manifest_path


class RetkeeDbtTranslator(DagsterDbtTranslator):
    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> AssetSpec:
        """dbt's own spec (column descriptions included), plus the compliance labels of the raw data it reads."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        if not unique_id.startswith(("model.", "seed.", "snapshot.")):
            return spec
        metadata, tags = model_labels(manifest, unique_id)
        return spec.merge_attributes(metadata=metadata, tags=tags)

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        return AssetKey(asset_key_path(dbt_resource_props))

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "transform"


if __name__ == "__main__":
    print(f"dbt manifest: {build_manifest()}")
