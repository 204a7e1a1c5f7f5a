"""The incremental marts' restatement lookback (dbt var `restatement_lookback_days`, dbt_project.yml) covers every
extraction that asks past days again for the raw tables those marts read: a day Amazon may restate is always
rebuilt by the next daily build (macros/incremental_window.sql)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import yaml

from orchestration.extract.catalogue import extraction_of
from orchestration.load.datasets import DATASETS

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"


@cache
def manifest_json() -> dict:
    """The manifest `make manifest` built (read as JSON: the code location is not needed here)."""
    return json.loads((DBT_PROJECT / "target" / "manifest.json").read_text())


def _incremental_models(manifest) -> dict[str, dict]:
    return {uid: node for uid, node in manifest["nodes"].items()
            if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"}


def _raw_tables_behind(manifest, unique_id: str) -> set[str]:
    seen, tables, todo = set(), set(), [unique_id]
    while todo:
        node_id = todo.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        if node_id.startswith("source.") and manifest["sources"][node_id]["source_name"] == "raw":
            tables.add(manifest["sources"][node_id]["name"])
        node = manifest["nodes"].get(node_id)
        if node is not None:
            todo += node.get("depends_on", {}).get("nodes", [])
    return tables


def test_the_marts_lookback_covers_every_extraction_that_asks_their_inputs_again():
    lookback = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())["vars"]["restatement_lookback_days"]
    manifest = manifest_json()
    marts = _incremental_models(manifest)
    assert {uid.split(".")[-1] for uid in marts} >= {
        "fct_daily_sales", "fct_fees", "fct_margins", "fct_profit_and_loss", "fct_sales_trends"}
    behind = {uid: _raw_tables_behind(manifest, uid) for uid in marts}
    assert "finance_transactions" in behind["model.retkee.fct_profit_and_loss"]
    assert "sales_traffic_by_sku" in behind["model.retkee.fct_sales_trends"]  # restated within 72 hours
    for uid, tables in behind.items():
        for table in tables & set(DATASETS):
            assert extraction_of(DATASETS[table]).lookback_days <= lookback, (uid, table)


def test_every_incremental_mart_replaces_its_window_on_its_day_column():
    for uid, node in _incremental_models(manifest_json()).items():
        if uid == "model.retkee.fct_daily_sales":  # its own watermark, by purchase day (docs/marts.md)
            continue
        assert node["config"]["incremental_strategy"] == "replace_window", uid
        assert node["config"]["window_column"] in node["columns"], uid
        assert "source_loaded_at" in node["columns"], uid
