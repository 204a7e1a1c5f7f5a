"""Compliance staff can trace every mart column to the raw columns, and extraction assets, it is computed from.

The lineage is built from the real dbt project (compiled without a database) and the pipeline's own raw DDL.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from dagster import AssetKey, TableColumnDep, TableColumnLineage

from orchestration.transform import column_lineage
from orchestration.transform.column_lineage import (
    LINEAGE_KEY,
    build_column_lineage,
    lineage_metadata,
    load_column_lineage,
    raw_table_columns,
)
from orchestration.transform.dbt_project import RetkeeDbtTranslator, dbt_project


@pytest.fixture(scope="module")
def lineage() -> dict[str, TableColumnLineage]:
    return build_column_lineage(dbt_project, RetkeeDbtTranslator())


def deps(lineage: dict[str, TableColumnLineage], model: str, column: str) -> set[tuple[str, str]]:
    return {
        (dep.asset_key.to_user_string(), dep.column_name)
        for dep in lineage[f"model.retkee.{model}"].deps_by_column[column]
    }


def test_net_margin_comes_from_revenue_promotions_refunds_fees_and_unit_cost(lineage):
    # fct_margins.sql: gross_revenue + shipping - promotions - VAT inside EU prices - refunds - fees - units x
    # unit cost
    assert deps(lineage, "fct_margins", "net_margin") == {
        ("intermediate/int_order_items_grouped_by_day", "gross_revenue"),
        ("intermediate/int_order_items_grouped_by_day", "vat"),
        ("intermediate/int_order_items_grouped_by_day", "shipping_and_gift_wrap_charged"),
        ("intermediate/int_order_items_grouped_by_day", "promotions"),
        ("intermediate/int_order_items_grouped_by_day", "shipping_promotions"),
        ("intermediate/int_order_items_grouped_by_day", "units"),
        ("intermediate/int_money_events_grouped_by_day", "refunds"),
        ("intermediate/int_money_events_grouped_by_day", "amazon_fees"),
        ("intermediate/int_unit_costs_versioned", "unit_cost"),
    }
    assert deps(lineage, "fct_margins", "unit_cost") == {("intermediate/int_unit_costs_versioned", "unit_cost")}


def test_staging_columns_point_at_the_raw_columns_of_their_extraction_asset(lineage):
    # The local day of the purchase: its moment and its marketplace (named by the sales channel).
    assert deps(lineage, "stg_amazon__orders", "order_date") == {
        ("raw/orders", "purchase_date"), ("raw/orders", "sales_channel")
    }
    assert deps(lineage, "stg_amazon__orders", "currency_code") == {("raw/orders", "currency")}
    assert deps(lineage, "stg_seller__unit_costs", "currency_code") == {("seller/unit_costs", "currency")}


def test_a_revenue_column_names_every_raw_amount_behind_it_across_layers(lineage):
    assert deps(lineage, "fct_daily_sales", "revenue") == {("intermediate/int_order_items_grouped_by_day", "revenue")}
    # Revenue is defined once per order item (macros/sales_definitions.sql, applied in stg_amazon__orders).
    assert deps(lineage, "int_order_items_grouped_by_day", "revenue") == {("staging/stg_amazon__orders", "gross_sales")}
    assert deps(lineage, "stg_amazon__orders", "gross_sales") >= {
        ("raw/orders", "item_price"),
        ("raw/orders", "item_promotion_discount"),
        ("raw/orders", "shipping_price"),
        ("raw/orders", "gift_wrap_price"),
    }


def test_a_calendar_spine_from_generate_series_keeps_its_lineage(lineage):
    # int_sales_days_filled names its days `generate_series(...) as day`, which sqlglot alone cannot resolve.
    assert deps(lineage, "int_sales_days_filled", "date_day") == {
        ("intermediate/int_order_items_grouped_by_day", "order_date")
    }
    assert deps(lineage, "fct_sales_trends", "units_7d") == {
        ("intermediate/int_sales_days_filled", "units"),
        ("intermediate/int_store_days_filled", "units"),
    }


def test_every_model_has_lineage_and_every_contracted_mart_column_is_in_it(lineage):
    from orchestration.defs.marts import manifest_json

    models = {uid: node for uid, node in manifest_json()["nodes"].items() if node["resource_type"] == "model"}
    assert set(lineage) == set(models)
    for unique_id, node in models.items():
        if node["config"]["contract"]["enforced"]:
            assert set(lineage[unique_id].deps_by_column) == set(node["columns"]), unique_id


def test_every_upstream_asset_is_an_asset_of_the_code_location(lineage):
    from orchestration.definitions import defs

    known = defs.resolve_asset_graph().get_all_asset_keys()
    upstream = {dep.asset_key for model in lineage.values() for column in model.deps_by_column.values()
                for dep in column}
    assert AssetKey(["raw", "orders"]) in upstream
    assert upstream <= known


def test_raw_columns_are_the_ones_the_pipeline_creates():
    tables = raw_table_columns()
    assert {"orders", "financial_events", "settlements", "unit_costs"} <= set(tables)
    assert tables["orders"]["purchase_date"] == {"data_type": "TIMESTAMPTZ"}
    assert "_loaded_at" in tables["orders"]  # lineage columns the loader adds
    assert "reason" not in tables["orders"]  # quarantine tables are not sources


def test_materialization_metadata_carries_dagsters_entry_and_a_readable_table():
    lineage = TableColumnLineage(deps_by_column={
        "net_margin": [TableColumnDep(asset_key=AssetKey(["intermediate", "x"]), column_name="refunds")],
        "grain": [],
    })
    metadata = lineage_metadata(lineage)
    assert metadata[LINEAGE_KEY] is lineage
    table = metadata["upstream_columns"].value
    assert "| `net_margin` | `intermediate/x.refunds` |" in table
    assert "| `grain` | no column" in table
    assert lineage_metadata(None) == {}


def test_lineage_is_rebuilt_when_the_manifest_changes_and_read_back_otherwise(tmp_path, monkeypatch):
    manifest = tmp_path / "manifest.json"
    manifest.write_text('{"v": 1}')
    project = SimpleNamespace(manifest_path=manifest)
    built = []

    def fake_build(project, translator):
        built.append(manifest.read_text())
        return {"model.retkee.m": TableColumnLineage(deps_by_column={"c": []})}

    monkeypatch.setattr(column_lineage, "build_column_lineage", fake_build)
    first = load_column_lineage(project, None)
    assert load_column_lineage(project, None) == first
    assert len(built) == 1
    manifest.write_text('{"v": 2}')
    load_column_lineage(project, None)
    assert len(built) == 2
    assert (tmp_path / "column_lineage.json").exists()
