"""The data classifications, ranked, and the fixed parts of every asset's compliance labels.

A classification is a rank, not a free string: a table derived from several datasets is as sensitive as the
most sensitive of them, so `strictest` needs the order of every label, not just of some (regression: only
financial and operational were ranked, and the four commercial datasets came out "operational" in lineage,
the access log and the compliance report). Dagster-free: the dataset catalogue (load/datasets.py) types its
entries with it, and compliance/labels.py builds every asset's labels from both.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from orchestration.retain.policy import AMAZON_MAX_AGE_MONTHS


class Classification(StrEnum):
    """Most sensitive first; the rank is the order of declaration."""

    FINANCIAL = "financial"  # money: orders' prices, settlements, fees paid, payouts
    COMMERCIAL = "commercial"  # the seller's market position: listings, fee estimates, sales and traffic
    OPERATIONAL = "operational"  # stock and shipments, and what holds no seller data

    @property
    def rank(self) -> int:
        """0 is the most sensitive."""
        return list(Classification).index(self)


# Raw data (defs/extraction.py) and everything derived from it: a derived table lives exactly as long as the
# data it came from.
RETENTION_RULE = (
    "kept while the subscription is active, no partition older than its dataset's retention cap "
    f"({AMAZON_MAX_AGE_MONTHS} months unless a recorded statute requires longer; older partitions are removed "
    "daily); erased within 30 days of revocation or termination"
)
OWNER = "data-engineering"
REPORTS_API = "Reports API 2021-06-30"
PII_FREE = "pii-free"

REQUIRED_METADATA = ("data_classification", "source_api", "report_type", "retention", "owner")
REQUIRED_TAGS = ("retkee/classification", "retkee/pii")


def strictest(classifications: Iterable[str]) -> Classification:
    """The most sensitive of `classifications`; operational when there are none (a seed, a calendar)."""
    ranked = [Classification(c) for c in classifications]
    return min(ranked, key=lambda c: c.rank, default=Classification.OPERATIONAL)


def compliance_metadata(classification: str, report_types: Iterable[str], source_api: str = REPORTS_API) -> dict:
    return {
        "data_classification": str(Classification(classification)),
        "source_api": source_api,
        "report_type": ", ".join(sorted(set(report_types))) or "none",
        "retention": RETENTION_RULE,
        "owner": OWNER,
    }


def compliance_tags(classification: str) -> dict[str, str]:
    return {"retkee/classification": str(Classification(classification)), "retkee/pii": PII_FREE}
