"""The Finances extractions: 2024-06-19 transactions at Amazon's usage plan, asked again over their lookback
window every day; v0 behind its switch until Amazon removes it."""

from datetime import date, timedelta

import pytest
from dagster import AssetKey, MultiPartitionKey

from orchestration.defs.schedules import requests_for
from orchestration.extract.catalogue import EXTRACTIONS, GROUP_LOOKBACK_DAYS
from orchestration.extract.finances_transactions import LOOKBACK_DAYS
from orchestration.extract.ratelimit import USAGE_PLANS
from orchestration.settings import SettingsError, finances_v0_enabled

TENANT = "t0123456789ab"


def test_list_transactions_is_metered_at_half_a_request_per_second_with_a_burst_of_ten():
    plan = USAGE_PLANS["listTransactions"]
    assert (plan.rate_per_second, plan.burst) == (0.5, 10)
    groups = USAGE_PLANS["listFinancialEventGroups"]
    assert (groups.rate_per_second, groups.burst) == (0.5, 30)


def test_finances_transactions_and_groups_are_asked_again_over_their_lookback_windows_every_day():
    today = date(2026, 3, 1)
    every_day_done = {str(MultiPartitionKey({"tenant": TENANT, "day": (today - timedelta(days=n)).isoformat()}))
                      for n in range(1, 30)}
    requests = requests_for(today, [TENANT], every_day_done)
    lookback = [r for r in requests if r.run_key.startswith("lookback|")]

    def days_of(table):
        """The days of the one run that looks back over the table (a run over a range of days: Dagster's tags)."""
        [run] = [r for r in lookback if AssetKey(["raw", table]) in r.asset_selection]
        first = date.fromisoformat(run.tags["dagster/asset_partition_range_start"].split("|")[0])
        last = date.fromisoformat(run.tags["dagster/asset_partition_range_end"].split("|")[0])
        assert run.tags["dagster/asset_partition_range_start"].endswith(f"|{TENANT}")
        return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]

    # yesterday is asked anyway, with every daily table
    transactions = days_of("finance_transactions")
    assert len(transactions) == LOOKBACK_DAYS - 1
    assert transactions[0] == (today - timedelta(days=LOOKBACK_DAYS)).isoformat()
    assert transactions[-1] == (today - timedelta(days=2)).isoformat()
    assert len(days_of("financial_event_groups")) == GROUP_LOOKBACK_DAYS - 1
    # Sales and traffic looks back too: Amazon restates its last 72 hours (3 days, yesterday asked anyway).
    assert len(days_of("sales_traffic_by_date")) == 3 - 1
    for tables in (("finance_transactions",), ("financial_event_groups",),
                   ("sales_traffic_by_date", "sales_traffic_by_sku")):  # each lookback is a run of its own
        [run] = [r for r in lookback if AssetKey(["raw", tables[0]]) in r.asset_selection]
        assert sorted(run.asset_selection) == sorted(AssetKey(["raw", t]) for t in tables)


def test_finances_v0_runs_until_switched_off_and_then_leaves_its_partitions_as_they_are(monkeypatch):
    v0 = EXTRACTIONS["financial_events"]
    today = date(2026, 3, 1)
    monkeypatch.delenv("RETKEE_FINANCES_V0", raising=False)
    assert v0.unreachable(date(2026, 2, 28), today) is None
    monkeypatch.setenv("RETKEE_FINANCES_V0", "off")
    assert "2027-08-27" in v0.unreachable(date(2026, 2, 28), today)
    assert EXTRACTIONS["finance_transactions"].unreachable(date(2026, 2, 28), today) is None


def test_a_misspelt_v0_switch_is_refused():
    with pytest.raises(SettingsError, match="RETKEE_FINANCES_V0"):
        finances_v0_enabled({"RETKEE_FINANCES_V0": "yes"})
