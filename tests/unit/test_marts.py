"""Every model the tenant runner builds becomes a materialization that carries the model's column lineage."""

from __future__ import annotations

from dagster import AssetKey, MaterializeResult, TableColumnLineage

from orchestration.defs.marts import dagster_events
from orchestration.transform.column_lineage import LINEAGE_KEY
from orchestration.transform.tenant_runner import NodeOutcome, TenantBuild


def test_a_built_mart_is_materialized_with_its_column_lineage():
    built = NodeOutcome("model.retkee.fct_margins", "model", "success", None, None, 0.2, rows_affected=3)
    events = list(dagster_events(TenantBuild("t0123456789ab", True, 1.0, [built]), set()))

    assert len(events) == 1 and isinstance(events[0], MaterializeResult)
    assert events[0].asset_key == AssetKey(["marts", "fct_margins"])
    lineage = events[0].metadata[LINEAGE_KEY]
    assert isinstance(lineage, TableColumnLineage)
    assert {d.asset_key for d in lineage.deps_by_column["unit_cost"]} == {
        AssetKey(["intermediate", "int_unit_costs_versioned"])
    }
    assert "`net_margin`" in events[0].metadata["upstream_columns"].value
