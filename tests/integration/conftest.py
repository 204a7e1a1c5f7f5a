"""Helpers of the pipeline tests (tests/integration, tests/security): marketplaces, settled days, the world.

The whole real stack they run on (TLS PostgreSQL, OpenBao, the SP-API sandbox, a Dagster instance) is the
session's `pipeline_stack` of tests/conftest.py: started once for both folders, torn down at the end.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from local_stack import StackConfig

US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"


def settled_days(count: int) -> list[date]:
    """Days old enough that every order on them is in its final state (shipped or cancelled)."""
    last = (datetime.now(UTC) - timedelta(days=5)).date()
    return [last - timedelta(days=offset) for offset in range(count - 1, -1, -1)]


def world_for(config: StackConfig):
    from spapi_sandbox.world import load_world

    return load_world(config.sandbox_dir)


__all__ = ["US", "CA", "settled_days", "world_for", "replace"]
