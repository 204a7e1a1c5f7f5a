"""Pipeline-side helpers of the money integration tests: run the extraction assets as their own Dagster job,
build a tenant's marts with the `build_marts` job (failing on any money node's failure), query the warehouse.
They drive the code under test; expectations come from tests/integration/money_truth.py, never from here.
"""

from __future__ import annotations

from functools import cache


def _query(settings, statement, params=()):
    from orchestration.defs.resources import open_session

    with open_session(settings) as session, session.conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall()


@cache
def _extract_job():
    """The extraction assets as their own job (the production job also carries other checks on raw tables)."""
    from dagster import Definitions, define_asset_job

    from orchestration.defs.extraction import EXTRACTION_ASSETS
    from orchestration.defs.resources import code_location_resources

    job = define_asset_job("extract_money", selection=EXTRACTION_ASSETS)
    return Definitions(assets=EXTRACTION_ASSETS, jobs=[job], resources=code_location_resources()).resolve_job_def(
        "extract_money")


# The dbt nodes of the money pipeline: a build must run every one of them, and none may fail. (Other areas'
# models are not this file's business: their tests say whether they build.)
MONEY_NODES = (
    "finance_transactions", "finance_lines", "financial_event_groups", "fee_taxonomy", "profit_and_loss", "pnl_",
    "settlement_reconciliation", "lines_sum_to_total", "keeps_every_posted_amount", "is_pnl_category", "fct_fees",
    "fct_margins", "money_events",
)
MONEY_MARTS = ("fct_profit_and_loss", "fct_settlement_reconciliation")


def _build_marts(instance, tenant_id: str):
    from dagster import AssetKey

    from orchestration.definitions import defs

    result = defs.resolve_job_def("build_marts").execute_in_process(
        instance=instance, partition_key=tenant_id, raise_on_error=False)
    problems = []
    for event in result.all_events:
        failure = event.step_failure_data if event.is_step_failure else None
        if failure and failure.user_failure_data:
            problems += [line for value in failure.user_failure_data.metadata.values()
                         for line in str(getattr(value, "value", value)).splitlines()]
    assert [p for p in problems if any(node in p for node in MONEY_NODES)] == []
    built = {e.asset_key for e in result.get_asset_materialization_events()}
    assert {AssetKey(["marts", name]) for name in MONEY_MARTS} <= built, problems
    return result
