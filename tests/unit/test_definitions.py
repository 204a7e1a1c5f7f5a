"""The code location loads, and compliance staff can follow lineage from the SP-API report to the mart."""

from dagster import AssetKey

from orchestration.definitions import defs


def test_lineage_runs_report_to_raw_to_staging_to_mart():
    graph = defs.resolve_asset_graph()
    mart = graph.get(AssetKey(["marts", "fct_daily_sales"]))
    assert AssetKey(["staging", "stg_amazon__orders"]) in mart.parent_keys
    staging = graph.get(AssetKey(["staging", "stg_amazon__orders"]))
    assert AssetKey(["raw", "orders"]) in staging.parent_keys
    raw = graph.get(AssetKey(["raw", "orders"]))
    assert raw.metadata["report_type"] == "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
    assert raw.metadata["data_classification"] == "financial"


def test_jobs_and_checks_are_defined():
    assert {job.name for job in defs.resolve_all_job_defs()} >= {"extract_reports", "build_marts"}
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert "raw_orders_expectations" in checks


def test_production_code_never_imports_the_sandbox_or_local_stack():
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2] / "orchestration"
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert "spapi_sandbox" not in text and "local_stack" not in text, path
