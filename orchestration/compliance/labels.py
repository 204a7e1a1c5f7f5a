"""Every asset's compliance labels (classification, source API, report type, retention, owner, PII status),
built from the catalogue: the datasets (load/datasets.py), the extractions that feed them (extract/catalogue.py), the
dbt lineage in the built manifest, and the few platform assets below.

One home: the asset specs in defs/ and the dbt translator read these labels, and so do the access log and the
compliance report, so lineage and evidence cannot disagree. Nothing here reads the resolved asset graph, and
nothing imports the code location (Dagster-free).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestration.compliance.classification import (
    OWNER,
    PII_FREE,
    RETENTION_RULE,
    compliance_metadata,
    compliance_tags,
    strictest,
)
from orchestration.extract.catalogue import EXTRACTIONS, Extraction
from orchestration.load.datasets import DATASETS, Dataset
from orchestration.transform.manifest import asset_key_path, upstream_raw_tables

LABELS = ("data_classification", "source_api", "report_type", "retention", "owner")

# Assets that hold no seller data, written by the platform itself (asset key as the UI writes it).
PLATFORM_ASSETS: dict[str, dict[str, str]] = {
    "compliance/compliance_report": {
        "data_classification": "operational",
        "source_api": "warehouse catalog, audit schema, Vault key metadata (no SP-API call)",
        "report_type": "none",
        "retention": "replaced at every materialization; holds no seller data",
        "owner": OWNER,
    },
    "audit/erasure_certificates": {"retention": "kept as long as the platform exists", "owner": OWNER},
    "audit/retention_removals": {
        "retention": "kept at least 12 months, pruned after RETKEE_LOG_RETENTION_MONTHS (13 by default)",
        "owner": OWNER,
    },
}


def dataset_labels(extraction: Extraction, dataset: Dataset) -> tuple[dict[str, str], dict[str, str]]:
    """(metadata, tags) of a raw table."""
    metadata = {
        "source_api": extraction.source_api,
        "report_type": dataset.report_type,
        "data_classification": str(dataset.classification),
        "retention": RETENTION_RULE,
        "owner": OWNER,
    }
    return metadata, {"retkee/classification": str(dataset.classification), "retkee/pii": PII_FREE}


def model_labels(manifest: Mapping[str, Any], unique_id: str) -> tuple[dict[str, str], dict[str, str]]:
    """(metadata, tags) of a dbt model, seed or snapshot: those of the raw data it reads, the strictest of
    their classifications; a model added later is labelled without anyone remembering to do it."""
    datasets = [DATASETS[name] for name in upstream_raw_tables(manifest, unique_id) if name in DATASETS]
    classification = strictest(d.classification for d in datasets)
    return compliance_metadata(classification, [d.report_type for d in datasets]), compliance_tags(classification)


def asset_labels(manifest: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Asset key (as the UI writes it) -> its labels, every one of LABELS present ("" when it has none)."""
    found: dict[str, dict[str, str]] = {}
    for node in manifest.get("sources", {}).values():
        found["/".join(asset_key_path(node))] = {}
    for unique_id, node in manifest.get("nodes", {}).items():
        if node["resource_type"] in ("model", "seed", "snapshot"):
            found["/".join(asset_key_path(node))] = model_labels(manifest, unique_id)[0]
    for extraction in EXTRACTIONS.values():
        for dataset in extraction.datasets:
            found[f"raw/{dataset.name}"] = dataset_labels(extraction, dataset)[0]
    found.update(PLATFORM_ASSETS)
    return {key: {name: str(labels.get(name, "")) for name in LABELS} for key, labels in found.items()}
