"""Every model the tenant runner builds becomes a materialization that carries the model's column lineage."""

from __future__ import annotations

import pytest
from dagster import AssetCheckKey, AssetKey, MaterializeResult, TableColumnLineage

from orchestration.defs.marts import SelectedChecks, dagster_events
from orchestration.transform.column_lineage import LINEAGE_KEY
from orchestration.transform.tenant_runner import NodeOutcome, TenantBuild


def test_a_built_mart_is_materialized_with_its_column_lineage():
    built = NodeOutcome("model.retkee.fct_margins", "model", "success", None, None, 0.2, rows_affected=3)
    events = list(dagster_events(TenantBuild("t0123456789ab", True, 1.0, [built]), SelectedChecks()))

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

    from dagster import AssetCheckEvaluation

    from orchestration.defs.marts import events_while_building, pnl_mart_key, tenant_models

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
    checks = SelectedChecks({check: tenant_models.get_spec_for_check_key(check)}, "t0123456789ab")
    events = events_while_building(build, checks, held=frozenset({pnl_mart_key()}))
    first = next(events)
    assert isinstance(first, MaterializeResult) and first.asset_key == AssetKey(["marts", "fct_margins"])
    consumed.set()
    with pytest.raises(StopIteration) as done:
        next(events)  # the P&L mart and its check were held, the second margins event dropped
    build_result, yielded = done.value.value
    assert still_building == [True]
    assert yielded == {"model.retkee.fct_margins"} and build_result.outcomes[-1] is unheard

    rest = list(dagster_events(build_result, checks, {"fct_profit_and_loss": {"chart": "x"}}, already=yielded))
    assert [type(e) for e in rest] == [MaterializeResult, AssetCheckEvaluation, MaterializeResult]
    assert rest[0].asset_key == pnl_mart_key() and rest[0].metadata["chart"] == "x"
    assert rest[1].check_name == check.name and rest[1].passed
    assert rest[2].asset_key == AssetKey(["marts", "fct_sales_trends"])


def test_a_failed_build_still_raises_after_the_events_it_streamed():
    from orchestration.defs.marts import events_while_building

    built = NodeOutcome("model.retkee.fct_margins", "model", "success", None, None, 0.2)

    def build(on_node):
        on_node(built)
        raise RuntimeError("dbt could not connect")

    events = events_while_building(build, SelectedChecks())
    assert next(events).asset_key == AssetKey(["marts", "fct_margins"])
    with pytest.raises(RuntimeError, match="could not connect"):
        next(events)


@pytest.mark.parametrize(("status", "passed", "severity"), [("pass", True, "ERROR"), ("fail", False, "ERROR"),
                                                             ("warn", False, "WARN"), ("error", False, "ERROR")])
def test_a_data_tests_verdict_is_the_checks_evaluation_and_blocks_as_its_spec_says(status, passed, severity):
    from orchestration.defs.marts import pnl_mart_key, tenant_models

    check = AssetCheckKey(pnl_mart_key(), "not_null_fct_profit_and_loss_date_day")
    spec = tenant_models.get_spec_for_check_key(check)
    verdict = NodeOutcome(_pnl_not_null_test(), "test", status, None, 4 if not passed else 0, 0.1)
    [evaluation] = list(dagster_events(TenantBuild("t0123456789ab", True, 1.0, [verdict]),
                                       SelectedChecks({check: spec}, "t0123456789ab")))
    assert (evaluation.asset_key, evaluation.check_name) == (check.asset_key, check.name)
    assert evaluation.passed is passed and evaluation.severity.value == severity
    assert evaluation.blocking is spec.blocking
    assert evaluation.partition is None  # dbt's checks are not partitioned: the evaluation is of the asset
    assert evaluation.metadata["failing_rows"].value == (0 if passed else 4)


def test_a_test_whose_check_the_run_did_not_select_gives_no_evaluation():
    verdict = NodeOutcome(_pnl_not_null_test(), "test", "fail", None, 1, 0.1)
    assert list(dagster_events(TenantBuild("t0123456789ab", True, 1.0, [verdict]), SelectedChecks())) == []
