"""The four datasets a P&L needs, end to end: storage fees, reimbursements, customer returns and the inventory
ledger land through the real extraction assets, their great-expectations checks pass, the PII firewall keeps
the buyers' free-text comments out of every table and landed document, and the P&L shares an account-level
storage bill by the volume of the storage-fee report, equal to a computation from the raw report rows and the
raw listTransactions answer (never from the dbt SQL).

One seller (US) whose storage is billed to the account (no SKU on the bill): one run of today's snapshots
(storage fees, inventory), one of the storage bill's day (Finances), one of a day with a reimbursement
(reimbursements, returns, ledger) and, when that day's returns carry no buyer comment, one of the latest day
whose returns do (returns); then one build of the marts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from psycopg import sql

from tests.integration.conftest import US, world_for
from tests.integration.marts_builds import _build_marts, _extract_job, _query
from tests.integration.money_truth import amount_of, raw_transactions, when

pytestmark = pytest.mark.integration

DATASETS = ("storage_fees", "reimbursements", "customer_returns", "inventory_ledger")


def _run(instance, tenant_id, day, datasets):
    from dagster import AssetKey, MultiPartitionKey

    from orchestration.defs.extraction import EXTRACTION_ASSETS

    # The extraction is one multi-asset that can subset: the run takes exactly these tables.
    selection = [k for a in EXTRACTION_ASSETS for k in a.keys if k in {AssetKey(["raw", name]) for name in datasets}]
    assert len(selection) == len(datasets)
    result = _extract_job().execute_in_process(
        instance=instance, partition_key=MultiPartitionKey({"tenant": tenant_id, "day": day.isoformat()}),
        asset_selection=selection, raise_on_error=False)
    assert result.success, f"{tenant_id} {day} {datasets}"
    return result


@pytest.fixture(scope="module")
def loaded(pipeline_stack, onboard, instance, settings):
    from orchestration.defs.partitions import TENANTS
    from orchestration.defs.resources import open_session

    seller, tenant = onboard("A1FBAREPORTS01", marketplaces=(US,),
                             profile={"skus": 6, "orders_per_day": 12, "refund_rate": 0.15,
                                      "storage_billing": "account"})
    if tenant.tenant_id not in instance.get_dynamic_partitions(TENANTS.name):
        instance.add_dynamic_partitions(TENANTS.name, [tenant.tenant_id])
    with open_session(settings) as session:
        connection = session.seller_connection(tenant)
    now = datetime.now(UTC)
    recent = raw_transactions(connection, US, now - timedelta(days=45), now - timedelta(minutes=3))
    storage_bill = max((t for t in recent if t["description"] == "FBAStorageBilling"), key=lambda t: t["postedDate"])
    # A day with a reimbursement, inside the 28 days inventory health looks back over when there is one.
    reimbursed = max(when(t["postedDate"]).date() for t in recent if t["description"] == "FBAInventoryReimbursement")
    # A day whose returns carry buyer comments (the firewall's case): the reimbursement day's returns need not.
    commented = next(day for day in (now.date() - timedelta(days=n) for n in range(1, 45))
                     if _commented_returns(pipeline_stack, seller.seller_id, day))
    results = [
        _run(instance, tenant.tenant_id, now.date(), ("storage_fees", "inventory_summaries")),
        _run(instance, tenant.tenant_id, when(storage_bill["postedDate"]).date(), ("finance_transactions",)),
        _run(instance, tenant.tenant_id, reimbursed, ("reimbursements", "customer_returns", "inventory_ledger")),
    ]
    if commented != reimbursed:
        results.append(_run(instance, tenant.tenant_id, commented, ("customer_returns",)))
    build = _build_marts(instance, tenant.tenant_id)
    return {"seller": seller, "tenant": tenant, "storage_bill": storage_bill, "reimbursed": reimbursed,
            "commented": commented, "results": results, "build": build, "settings": settings,
            "day": when(storage_bill["postedDate"])}


def _commented_returns(stack, seller_id: str, day) -> set[str]:
    """The buyer comments on the day's customer returns, from the sandbox's truth."""
    start = datetime.combine(day, datetime.min.time(), UTC)
    returns = world_for(stack).customer_returns(seller_id, US, start, start + timedelta(days=1))
    return {r["customer-comments"] for r in returns if r["customer-comments"]}


def _rows(loaded, table: str, columns: str = "*") -> list[tuple]:
    schema = sql.Identifier(f"{loaded['tenant'].tenant_id}_raw")
    return _query(loaded["settings"], sql.SQL("select " + columns + " from {}.{}").format(
        schema, sql.Identifier(table)))


def test_the_four_datasets_land_and_their_checks_pass(loaded):
    for table in DATASETS:
        assert _rows(loaded, table), f"{table} is empty"
    evaluations = [e for r in loaded["results"] for e in r.get_asset_check_evaluations()
                   if e.asset_key.path[-1] in DATASETS]
    assert {e.asset_key.path[-1] for e in evaluations} == set(DATASETS)
    assert all(e.passed for e in evaluations), [(e.asset_key, e.metadata) for e in evaluations if not e.passed]
    # The dbt side: the new staging models and the marts reading them build, with their data tests.
    problems = [str(e.event_specific_data) for e in loaded["build"].all_events if e.is_step_failure]
    assert problems == []
    built = {e.asset_key.path[-1] for e in loaded["build"].get_asset_materialization_events()}
    assert {f"stg_amazon__{t}" for t in DATASETS} | {"fct_inventory_health", "fct_profit_and_loss"} <= built
    failed = [e.asset_key for e in loaded["build"].get_asset_check_evaluations() if not e.passed]
    assert failed == []


def test_inventory_health_counts_the_returned_and_reimbursed_units(loaded, settings):
    marts = sql.Identifier(f"{loaded['tenant'].tenant_id}_marts")
    rows = _query(settings, sql.SQL(
        "select date_day, sku, units_returned_28d, units_reimbursed_28d, units_received_90d, ledger_days_90d,"
        " units_over_90_days from {}.fct_inventory_health where marketplace_id = %s").format(marts), (US,))
    assert rows
    from zoneinfo import ZoneInfo

    pacific = ZoneInfo("America/Los_Angeles")
    returned, reimbursed, received = Counter(), Counter(), Counter()
    for day in {r[0] for r in rows}:
        for sku, quantity, at in _rows(loaded, "customer_returns", "sku, quantity, return_date"):
            if 0 <= (day - at.astimezone(pacific).date()).days < 28:
                returned[day, sku] += quantity
        for sku, quantity, at in _rows(loaded, "reimbursements", "sku, quantity_reimbursed_total, approval_date"):
            if 0 <= (day - at.astimezone(pacific).date()).days < 28:
                reimbursed[day, sku] += quantity
        for sku, receipts, ledger_day in _rows(loaded, "inventory_ledger", "sku, receipts, date"):
            if 0 <= (day - ledger_day).days < 90:
                received[day, sku] += receipts
    for day, sku, units_returned, units_reimbursed, units_received, ledger_days, over_90 in rows:
        assert (units_returned, units_reimbursed, units_received) == (
            returned[day, sku], reimbursed[day, sku], received[day, sku]), sku
        assert ledger_days <= 1 and over_90 is None  # one ledger day loaded: the age of older stock is unknown


def test_no_customer_comment_lands_anywhere(loaded, pipeline_stack, settings):
    from orchestration.defs.resources import open_session
    from orchestration.land.documents import read_landed

    comments = _commented_returns(pipeline_stack, loaded["seller"].seller_id, loaded["commented"])
    assert comments, "the day's returns carry buyer comments to drop"
    tenant_id = loaded["tenant"].tenant_id
    tables = _query(settings, "select table_schema, table_name from information_schema.tables "
                              "where table_schema like %s", (f"{tenant_id}%",))
    for schema, table in tables:
        for comment in comments:
            found = _query(settings, sql.SQL("select count(*) from {}.{} as t where t::text like %s").format(
                sql.Identifier(schema), sql.Identifier(table)), (f"%{comment[:20]}%",))
            assert found == [(0,)], f"{schema}.{table} holds a buyer comment"
    assert "customer_comments" not in {c for (c,) in _query(
        settings, "select column_name from information_schema.columns where table_schema = %s",
        (f"{tenant_id}_raw",))}
    with open_session(settings) as session:
        keys = session.landing.list(f"{tenant_id}/customer_returns")
        assert keys
        for key in keys:
            text = read_landed(session.vault, session.landing, key).text()
            assert "customer-comments" not in text.splitlines()[0]
            assert not any(comment in text for comment in comments)


def test_account_storage_is_shared_by_the_storage_fee_reports_volume(loaded, settings):
    bill = loaded["storage_bill"]
    total = amount_of(bill["totalAmount"])
    period = next(c for c in bill["contexts"] if c["contextType"] == "TimeRangeContext")
    month = period["startTime"][:7]
    # Independently: the raw report rows of the month billed, FNSKUs mapped to SKUs by the raw inventory rows.
    sku_of = dict(_rows(loaded, "inventory_summaries", "fnsku, sku"))
    volume = Counter()
    latest = max(s for (s,) in _rows(loaded, "storage_fees", "snapshot_at"))
    for fnsku, centre_volume, month_of_charge, snapshot_at in _rows(
            loaded, "storage_fees", "fnsku, estimated_total_item_volume, month_of_charge, snapshot_at"):
        if month_of_charge == month and snapshot_at == latest and fnsku in sku_of:
            volume[sku_of[fnsku]] += Decimal(str(centre_volume))
    assert len(volume) > 1
    whole = sum(volume.values())
    expected = {sku: (total * v / whole).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                for sku, v in volume.items()}
    marts = sql.Identifier(f"{loaded['tenant'].tenant_id}_marts")
    day = loaded["day"].astimezone(UTC)  # 10:00 UTC: the same day in Pacific time
    booked = defaultdict(Decimal)
    unallocated = Decimal(0)
    for sku, storage in _query(settings, sql.SQL(
            "select sku, storage_fees from {}.fct_profit_and_loss where date_day = %s and marketplace_id = %s"
    ).format(marts), (day.date(), US)):
        if sku is None:
            unallocated += storage
        else:
            booked[sku] += storage
    assert {s: v for s, v in booked.items() if v} == expected
    assert sum(booked.values()) + unallocated == total  # the rounding stays on the UNALLOCATED row
