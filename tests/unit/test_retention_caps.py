"""Retention caps as pure logic: calendar-month cutoffs, the catalogue's caps, the settings that may only lower
them, the refusal of an extraction older than its cap, the log-retention floor, and how Dagster sees them."""

from __future__ import annotations

from datetime import date

import pytest

from orchestration.load.datasets import DATASETS, Dataset
from orchestration.retain.caps import BeyondRetentionCap, age_caps, partitions_start, refuse_beyond_cap
from orchestration.retain.policy import (
    LegalBasis,
    PolicyError,
    RetentionCapRefused,
    log_retention_months,
    months_before,
    oldest_day_kept,
)

TAX = LegalBasis(statute="26 U.S.C. 6001; 26 CFR 1.6001-1(e)", purpose="tax records of payouts", months=84)


def _dataset(name: str, months: int = 18, basis: LegalBasis | None = None) -> Dataset:
    return Dataset(name=name, report_type="x", columns=(), key=(), partition_column=None,
                   classification="financial", max_age_months=months, legal_basis=basis)


@pytest.mark.parametrize(("today", "months", "expected"), [
    (date(2026, 12, 1), 18, date(2025, 6, 1)),
    (date(2026, 8, 31), 18, date(2025, 2, 28)),  # February is shorter: its last day
    (date(2028, 8, 31), 6, date(2028, 2, 29)),  # a leap year's February
    (date(2026, 1, 15), 1, date(2025, 12, 15)),  # across a year
    (date(2026, 3, 31), 13, date(2025, 2, 28)),
])
def test_months_are_counted_in_calendar_months_from_today(today, months, expected):
    assert months_before(today, months) == expected


def test_a_day_exactly_at_the_cap_is_kept_and_the_day_before_is_older():
    cap = age_caps({})["orders"]
    today = date(2026, 12, 1)
    assert cap.months == 18
    assert not cap.expired(date(2025, 6, 1), today)
    assert cap.expired(date(2025, 5, 31), today)


def test_every_catalogue_dataset_defaults_to_amazons_18_months_without_a_legal_basis():
    caps = age_caps({})
    assert set(caps) == set(DATASETS)
    assert all(cap.months == 18 and cap.legal_basis is None and cap.source == "catalogue" for cap in caps.values())


def test_a_catalogue_cap_above_18_months_without_a_legal_basis_is_refused():
    with pytest.raises(RetentionCapRefused) as refused:
        _dataset("settlements_for_ever", months=19)
    assert (refused.value.dataset, refused.value.months, refused.value.ceiling) == ("settlements_for_ever", 19, 18)
    assert refused.value.legal_basis is None
    assert "legal basis" in str(refused.value)


def test_a_legal_basis_allows_its_statutes_period_and_no_more():
    kept = _dataset("settlements_taxed", months=84, basis=TAX)
    assert kept.max_age_months == 84
    with pytest.raises(RetentionCapRefused) as refused:
        _dataset("settlements_taxed", months=85, basis=TAX)
    assert refused.value.ceiling == 84


def test_an_operator_setting_above_18_months_is_refused_with_the_setting_named():
    with pytest.raises(RetentionCapRefused) as refused:
        age_caps({"RETKEE_RETENTION_MONTHS": "24"})
    assert refused.value.where == "RETKEE_RETENTION_MONTHS" and refused.value.months == 24
    with pytest.raises(RetentionCapRefused) as refused:
        age_caps({"RETKEE_RETENTION_MONTHS_ORDERS": "19"})
    assert refused.value.where == "RETKEE_RETENTION_MONTHS_ORDERS" and refused.value.dataset == "orders"


def test_settings_lower_every_dataset_or_one():
    caps = age_caps({"RETKEE_RETENTION_MONTHS": "12", "RETKEE_RETENTION_MONTHS_ORDERS": "6"})
    assert caps["orders"].months == 6 and caps["orders"].source == "RETKEE_RETENTION_MONTHS_ORDERS"
    assert caps["listings"].months == 12 and caps["listings"].source == "RETKEE_RETENTION_MONTHS"


def test_a_dataset_kept_by_law_keeps_its_statutes_period_unless_named():
    datasets = {"orders": _dataset("orders"), "settlements": _dataset("settlements", months=84, basis=TAX)}
    caps = age_caps({"RETKEE_RETENTION_MONTHS": "12"}, datasets)
    assert caps["orders"].months == 12
    assert caps["settlements"].months == 84 and caps["settlements"].legal_basis == TAX
    caps = age_caps({"RETKEE_RETENTION_MONTHS_SETTLEMENTS": "60"}, datasets)
    assert caps["settlements"].months == 60
    with pytest.raises(RetentionCapRefused):
        age_caps({"RETKEE_RETENTION_MONTHS_SETTLEMENTS": "85"}, datasets)


@pytest.mark.parametrize("environ", [
    {"RETKEE_RETENTION_MONTHS_ORDER": "12"},  # a typo names no dataset: it must not silently keep 18 months
    {"RETKEE_RETENTION_MONTHS": "twelve"},
    {"RETKEE_RETENTION_MONTHS": "0"},
    {"RETKEE_RETENTION_MONTHS_ORDERS": "-3"},
])
def test_settings_that_cannot_be_right_are_refused(environ):
    with pytest.raises(PolicyError):
        age_caps(environ)


def test_the_partitions_start_is_today_minus_the_largest_cap():
    datasets = {"orders": _dataset("orders"), "settlements": _dataset("settlements", months=84, basis=TAX)}
    today = date(2026, 12, 1)
    assert partitions_start(today, age_caps({}, datasets)) == date(2019, 12, 1)
    assert partitions_start(today, age_caps({}, {"orders": _dataset("orders")})) == date(2025, 6, 1)


def test_an_extraction_older_than_its_cap_is_refused_with_the_facts():
    caps = age_caps({"RETKEE_RETENTION_MONTHS_SALES_TRAFFIC_BY_SKU": "12"})
    today = date(2026, 12, 1)
    refuse_beyond_cap(["orders"], date(2025, 6, 1), today, caps)  # at the cap: extracted
    with pytest.raises(BeyondRetentionCap) as refused:
        refuse_beyond_cap(["orders"], date(2025, 5, 31), today, caps)
    assert refused.value.oldest_day_kept == date(2025, 6, 1) and refused.value.months == 18
    # One document feeds both sales-and-traffic tables: the shorter cap decides.
    with pytest.raises(BeyondRetentionCap) as refused:
        refuse_beyond_cap(["sales_traffic_by_date", "sales_traffic_by_sku"], date(2025, 11, 30), today, caps)
    assert refused.value.oldest_day_kept == oldest_day_kept(today, 12) == date(2025, 12, 1)


def test_logs_are_kept_13_months_by_default_and_never_below_12():
    assert log_retention_months({}) == 13
    assert log_retention_months({"RETKEE_LOG_RETENTION_MONTHS": "12"}) == 12
    assert log_retention_months({"RETKEE_LOG_RETENTION_MONTHS": "36"}) == 36
    with pytest.raises(PolicyError, match="at least 12 months"):
        log_retention_months({"RETKEE_LOG_RETENTION_MONTHS": "11"})
    with pytest.raises(PolicyError):
        log_retention_months({"RETKEE_LOG_RETENTION_MONTHS": "a year"})


def test_the_dagster_partitions_start_follows_the_caps():
    from datetime import UTC, datetime, timedelta

    from orchestration.defs.partitions import DAYS, LOADED_ON

    # The start moves with the day the code location loads (a suite that crosses midnight loaded it yesterday).
    assert DAYS.start.date() == partitions_start(LOADED_ON)
    assert datetime.now(UTC).date() - LOADED_ON in (timedelta(0), timedelta(days=1))


def test_the_daily_retention_job_is_scheduled_on_by_default_and_every_raw_dataset_has_a_cap_check():
    from dagster import DefaultScheduleStatus

    from orchestration.definitions import defs
    from orchestration.defs.extraction import asset_key
    from orchestration.defs.retention import CAP_CHECK, RAW_DATASETS

    schedules = {s.name: s for s in defs.schedules}
    for name in ("apply_retention_caps_daily", "check_retention_caps_daily"):
        assert schedules[name].default_status == DefaultScheduleStatus.RUNNING
    checks = {(key.asset_key, key.name) for key in defs.resolve_asset_graph().asset_check_keys}
    assert RAW_DATASETS and all((asset_key(d), CAP_CHECK) in checks for d in RAW_DATASETS)


def test_a_tenants_extraction_run_leaves_the_all_tenant_cap_checks_to_their_own_daily_job():
    # The cap checks scan every tenant: run in each tenant's extraction, a refresh was quadratic in tenants.
    from orchestration.defs.extraction import check_name
    from orchestration.defs.retention import CAP_CHECK, RAW_DATASETS
    from orchestration.job_runs import code_location_job

    def check_names(job_name):
        return {key.name for key in code_location_job(job_name).asset_layer.asset_graph.asset_check_keys}

    extraction = check_names("extract_reports")
    assert CAP_CHECK not in extraction
    assert {check_name(d) for d in RAW_DATASETS} <= extraction  # its own checks stay
    daily = code_location_job("check_retention_caps").asset_layer.asset_graph.asset_check_keys
    assert {key.name for key in daily} == {CAP_CHECK} and len(daily) == len(RAW_DATASETS)


def test_a_run_of_some_tables_checks_them_with_the_extractions_checks_only():
    # Dagster's asset_selection alone adds every check on the selected assets, the cap checks the job leaves out
    # included: refresh and the schedule select tables, so the cap checks must be left out of the selection too.
    from orchestration.defs.extraction import DAILY_KEYS, check_name
    from orchestration.defs.extraction import asset_key as asset_key_of
    from orchestration.defs.retention import CAP_CHECK, RAW_DATASETS
    from orchestration.job_runs import code_location_job

    daily = [d for d in RAW_DATASETS if asset_key_of(d) in DAILY_KEYS]
    job = code_location_job("extract_reports", *(asset_key_of(d).to_user_string() for d in daily))
    checks = job.asset_layer.asset_graph.asset_check_keys
    assert {key.name for key in checks if key.name == CAP_CHECK} == set()
    assert {(key.asset_key, key.name) for key in checks} >= {(asset_key_of(d), check_name(d)) for d in daily}
    assert {key.asset_key for key in checks} == set(DAILY_KEYS)  # none on a table not selected
    assert [node.name for node in job.graph.node_defs] == ["extract_tenant"]  # no all-tenant check step


def test_the_schedules_runs_select_the_extractions_checks_on_their_tables():
    from datetime import date

    from orchestration.defs.retention import CAP_CHECK
    from orchestration.defs.schedules import requests_for

    requests = requests_for(date(2026, 3, 1), ["t0123456789ab"], set())
    assert requests
    for request in requests:
        assert request.asset_check_keys  # an explicit selection: None would mean every check on the tables
        assert all(key.name != CAP_CHECK for key in request.asset_check_keys)
        assert {key.asset_key for key in request.asset_check_keys} == set(request.asset_selection)


def test_incremental_marts_are_found_under_the_raw_tables_they_read():
    from orchestration.defs.marts import manifest_json
    from orchestration.defs.retention import incremental_marts

    marts = incremental_marts(manifest_json())
    assert "fct_daily_sales" in marts["orders"]  # incremental: keeps old days unless rebuilt in full
    assert "fct_fees" in marts["finance_transactions"]  # incremental over its restatement window (docs/marts.md)
    # a table mart is rebuilt whole every time: removing old raw rows is enough
    assert all("fct_settlement_reconciliation" not in found for found in marts.values())


def test_docs_give_each_datasets_cap_and_basis_as_the_catalogue_does():
    import pathlib
    import re

    text = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "datasets.md").read_text()
    section = text.split("## Retention caps", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| (\d+) \| (.+?) \|$", section, re.M)
    documented = {name: (int(months), basis.strip()) for name, months, basis in rows}
    assert documented == {name: (d.max_age_months, str(d.legal_basis) if d.legal_basis else "none")
                          for name, d in DATASETS.items()}


def test_an_extraction_older_than_its_cap_refuses_before_asking_amazon():
    from orchestration.extract.catalogue import EXTRACTIONS
    from orchestration.load.pipeline import ingest_partition

    today = date(2026, 12, 1)
    # Nothing to reach: a refusal must come before any call to Amazon, the landing zone or the warehouse.
    with pytest.raises(BeyondRetentionCap) as refused:
        ingest_partition(tenant=None, extraction=EXTRACTIONS["orders"], day=date(2025, 5, 31), vault=None,
                         seller=None, landing=None, conn=None, today=today)
    assert refused.value.datasets == ("orders",) and refused.value.day == date(2025, 5, 31)


def test_the_compliance_report_shows_cap_and_basis_and_marks_past_cap_in_red():
    from datetime import UTC, datetime

    from orchestration.compliance.evidence import ComplianceReport, dataset_caps
    from orchestration.compliance.report import render_html

    datasets = {"orders": _dataset("orders"), "settlements": _dataset("settlements", months=84, basis=TAX)}
    report = ComplianceReport(generated_at=datetime(2026, 12, 1, tzinfo=UTC), log_retention_months=13,
                              dataset_caps=dataset_caps(age_caps({}, datasets)), retention_removals=[])
    report.oldest_held = [
        {"tenant_id": "t0123456789ab", "dataset": "orders", "oldest_day_held": "2025-05-31", "cap_months": 18,
         "oldest_day_kept": "2025-06-01", "legal_basis": "none", "past_cap": True},
        {"tenant_id": "t0123456789ab", "dataset": "settlements", "oldest_day_held": "2020-01-01", "cap_months": 84,
         "oldest_day_kept": "2019-12-01", "legal_basis": str(TAX), "past_cap": False},
    ]
    page = render_html(report)
    red = [row for row in page.split("<tr") if row.startswith(" class='bad'")]
    assert len(red) == 1 and "2025-05-31" in red[0] and "PAST CAP" in red[0]
    assert "26 U.S.C. 6001; 26 CFR 1.6001-1(e): tax records of payouts (84 months)" in page
    assert report.past_cap == [report.oldest_held[0]]


def test_the_report_finds_the_oldest_landed_day_from_folder_names_alone(tmp_path):
    from orchestration.compliance.evidence import landed_days

    tenant = "t0123456789ab"
    for extraction, day, document in (("orders", "2025-05-31", True), ("orders", "2025-07-01", True),
                                      ("sales_traffic", "2025-06-02", True), ("listings", "2024-01-01", False)):
        folder = tmp_path / tenant / extraction / day
        folder.mkdir(parents=True)
        if document:
            (folder / "doc-1.env").write_bytes(b"sealed")  # never opened
    assert landed_days(tmp_path) == {
        (tenant, "orders"): "2025-05-31",
        (tenant, "sales_traffic_by_date"): "2025-06-02",  # one document feeds both tables
        (tenant, "sales_traffic_by_sku"): "2025-06-02",
    }  # an emptied folder holds nothing
