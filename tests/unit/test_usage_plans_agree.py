"""Amazon's usage plans are written twice on purpose: our client's pacing (orchestration/extract/ratelimit.py)
and the sandbox's enforcement (spapi_sandbox/ratelimit.py) must not share code, or a wrong plan would pace and
police itself. Both must equal what Amazon publishes: the rate/burst table in each operation's description in
Amazon's models (sp-api-models/, read here on their own)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from orchestration.extract import ratelimit as client
from spapi_sandbox import ratelimit as sandbox

MODELS = Path(__file__).resolve().parents[2] / "sp-api-models"
# The table Amazon puts in every operation's description: "| Rate (requests per second) | Burst |" then a row.
PLAN_ROW = re.compile(
    r"Rate \(requests per second\)\s*\|\s*Burst\s*\|\s*\n"  # the header
    r"\s*\|[-\s|]*\|\s*\n"  # the separator
    r"\s*\|\s*([0-9.]+)\s*\|\s*(\d+)\s*\|"  # the row: rate, burst
)


def published_plans() -> dict[str, tuple[float, int]]:
    plans = {}
    for model in sorted(MODELS.glob("*.json")):
        for operations in json.loads(model.read_text()).get("paths", {}).values():
            for operation in operations.values():
                if isinstance(operation, dict) and "operationId" in operation:
                    found = PLAN_ROW.search(operation.get("description", ""))
                    if found:
                        plans[operation["operationId"]] = (float(found[1]), int(found[2]))
    return plans


PUBLISHED = published_plans()


def test_the_models_publish_a_plan_for_the_operations_we_call():
    assert {"createReport", "getReportDocument", "listTransactions", "createQuery"} <= PUBLISHED.keys()


def test_the_client_paces_at_amazons_published_plan():
    for operation, plan in client.USAGE_PLANS.items():
        assert operation in PUBLISHED, f"{operation}: no plan in Amazon's models"
        assert (plan.rate_per_second, plan.burst) == PUBLISHED[operation], operation


def test_the_sandbox_polices_amazons_published_plan():
    for operation, plan in sandbox.USAGE_PLANS.items():
        assert operation in PUBLISHED, f"{operation}: no plan in Amazon's models"
        assert (plan.rate, plan.burst) == PUBLISHED[operation], operation


def test_the_client_paces_every_operation_the_sandbox_polices():
    assert client.USAGE_PLANS.keys() == sandbox.USAGE_PLANS.keys()
