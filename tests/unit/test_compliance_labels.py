"""Every asset's compliance labels come from the catalogue, ranked, and say the same in lineage, the access log
and the compliance report."""

from dagster import AssetKey

from orchestration.compliance import access_log, evidence
from orchestration.compliance.classification import strictest
from orchestration.definitions import defs

# Reads only the Sales and Traffic report, a commercial dataset (load/datasets.py: SALES_TRAFFIC_BY_DATE).
COMMERCIAL_MODEL = "staging/stg_amazon__sales_traffic_by_date"


def test_the_strictest_of_several_classifications_is_the_most_sensitive_one():
    assert strictest(["operational", "commercial"]) == "commercial"
    assert strictest(["commercial", "financial", "operational"]) == "financial"
    assert strictest(["operational"]) == "operational"
    assert strictest([]) == "operational"


def test_a_model_of_commercial_data_stays_commercial_in_lineage_the_access_log_and_the_report():
    """Regression: only financial and operational were ranked, so the four commercial datasets' models were
    labelled "operational" everywhere."""
    lineage = defs.resolve_asset_graph().get(AssetKey(COMMERCIAL_MODEL.split("/"))).metadata
    assert lineage["data_classification"] == "commercial"
    assert access_log.asset_classifications()[COMMERCIAL_MODEL] == "commercial"
    assert evidence.asset_labels()[COMMERCIAL_MODEL]["data_classification"] == "commercial"


def test_lineage_shows_exactly_the_labels_the_access_log_and_the_report_read():
    """One home: the asset graph's labels are built from the catalogue the evidence reads, for every asset."""
    graph = defs.resolve_asset_graph()
    labels = evidence.asset_labels()
    assert {key.to_user_string() for key in graph.get_all_asset_keys()} == set(labels)
    for key in graph.get_all_asset_keys():
        metadata = graph.get(key).metadata
        shown = {name: str(metadata.get(name, "")) for name in labels[key.to_user_string()]}
        assert shown == labels[key.to_user_string()], key
