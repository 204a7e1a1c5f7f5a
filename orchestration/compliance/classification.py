"""The compliance labels every asset carries: data classification, source API and report, retention, owner.

Extraction assets declare their labels where they are defined (defs/extraction.py); dbt models inherit them
from the raw tables they read, so a mart added later is labelled without anyone remembering to do it.
"""

from __future__ import annotations

from collections.abc import Iterable

from orchestration.retain.policy import AMAZON_MAX_AGE_MONTHS

# Raw data (defs/extraction.py) and everything derived from it: a derived table lives exactly as long as the
# data it came from.
RETENTION_RULE = (
    "kept while the subscription is active, no partition older than its dataset's retention cap "
    f"({AMAZON_MAX_AGE_MONTHS} months unless a recorded statute requires longer; older partitions are removed "
    "daily); erased within 30 days of revocation or termination"
)
OWNER = "data-engineering"
REPORTS_API = "Reports API 2021-06-30"
# Most sensitive first: a model that reads financial and operational data is financial.
CLASSIFICATIONS = ("financial", "operational")
PII_FREE = "pii-free"

REQUIRED_METADATA = ("data_classification", "source_api", "report_type", "retention", "owner")
REQUIRED_TAGS = ("retkee/classification", "retkee/pii")


def strictest(classifications: Iterable[str]) -> str:
    found = set(classifications)
    for classification in CLASSIFICATIONS:
        if classification in found:
            return classification
    return "operational"


def compliance_metadata(classification: str, report_types: Iterable[str], source_api: str = REPORTS_API) -> dict:
    return {
        "data_classification": classification,
        "source_api": source_api,
        "report_type": ", ".join(sorted(set(report_types))) or "none",
        "retention": RETENTION_RULE,
        "owner": OWNER,
    }


def compliance_tags(classification: str) -> dict[str, str]:
    return {"retkee/classification": classification, "retkee/pii": PII_FREE}
