"""Every model the tenant runner builds becomes a materialization that carries the model's column lineage."""

from __future__ import annotations

import pytest
from dagster import AssetCheckKey, AssetKey, MaterializeResult, TableColumnLineage

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


def _pnl_not_null_test() -> str:
    from orchestration.defs.marts import manifest_json

    return next(u for u, n in manifest_json()["nodes"].items()
                if n["resource_type"] == "test" and n["name"] == "not_null_fct_profit_and_loss_date_day")


def test_events_reach_dagster_while_dbt_still_builds_and_the_pnl_mart_waits_for_its_chart():
    import threading

    from dagster import AssetCheckResult

    from orchestration.defs.marts import events_while_building, pnl_mart_key

    margins = NodeOutcome("model.retkee.fct_margins", "model", "success", None, None, 0.2, rows_affected=3)
    pnl = NodeOutcome("model.retkee.fct_profit_and_loss", "model", "success", None, None, 0.3, rows_affected=9)
    pnl_test = NodeOutcome(_pnl_not_null_test(), "test", "pass", None, 0, 0.1)
    unheard = NodeOutcome("model.retkee.fct_sales_trends", "model", "success", None, None, 0.1)
    consumed = threading.Event()
    still_building = []

    def build(on_node):
        on_node(margins)
        on_node(NodeOutcome("unit_test.retkee.fct_margins.a_unit_test", "unit_test", "pass", None, 0, 0.1))  # no asset
        # The build goes on only once the caller has had the first node's event: a generator that waited for
        # the whole build before yielding would never set this.
        still_building.append(consumed.wait(timeout=10))
        on_node(pnl_test)  # dbt may finish a check's node before the caller is done with its model
        on_node(pnl)
        on_node(margins)  # heard twice: yielded once
        return TenantBuild("t0123456789ab", True, 1.0, [margins, pnl, pnl_test, unheard])

    check = AssetCheckKey(pnl_mart_key(), "not_null_fct_profit_and_loss_date_day")
    events = events_while_building(build, {check}, held=frozenset({pnl_mart_key()}))
    first = next(events)
    assert isinstance(first, MaterializeResult) and first.asset_key == AssetKey(["marts", "fct_margins"])
    consumed.set()
    with pytest.raises(StopIteration) as done:
        next(events)  # the P&L mart and its check were held, the second margins event dropped
    build_result, yielded = done.value.value
    assert still_building == [True]
    assert yielded == {"model.retkee.fct_margins"} and build_result.outcomes[-1] is unheard

    rest = list(dagster_events(build_result, {check}, {"fct_profit_and_loss": {"chart": "x"}}, already=yielded))
    assert [type(e) for e in rest] == [MaterializeResult, AssetCheckResult, MaterializeResult]
    assert rest[0].asset_key == pnl_mart_key() and rest[0].metadata["chart"] == "x"
    assert rest[1].check_name == check.name and rest[1].passed
    assert rest[2].asset_key == AssetKey(["marts", "fct_sales_trends"])


def test_a_failed_build_still_raises_after_the_events_it_streamed():
    from orchestration.defs.marts import events_while_building

    built = NodeOutcome("model.retkee.fct_margins", "model", "success", None, None, 0.2)

    def build(on_node):
        on_node(built)
        raise RuntimeError("dbt could not connect")

    events = events_while_building(build, set())
    assert next(events).asset_key == AssetKey(["marts", "fct_margins"])
    with pytest.raises(RuntimeError, match="could not connect"):
        next(events)
