"""The money pipeline end to end: Finances 2024-06-19 transactions from the sandbox to fct_profit_and_loss,
fct_fees, fct_margins and fct_settlement_reconciliation, checked against expectations computed from the RAW API
answers (the real client's listTransactions and listFinancialEventGroups pages, tests/integration/money_truth.py)
and the raw orders rows, with Amazon's definitions applied in the tests: never from the dbt SQL or the
sandbox's Python objects.

One seller (US and CA) is extracted over a whole settlement period (every day of
Finances), the days its settlements were published and the previous settlements, whose period is not covered;
orders for the last days of the period. Then: every type the sandbox serves is mapped by the fee taxonomy seed;
per marketplace and category the P&L holds exactly the posted money; SKU money lands on its SKU and account
money is allocated by the documented rule; the covered settlements match and are deposited, the uncovered ones
are partial (0 false mismatches); an unknown transaction type lands unclassified, is counted, warns and keeps
the totals balanced; and a planted missing transaction makes exactly one mismatch.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

import pytest
from psycopg import sql

from orchestration.extract.marketplaces import MARKETPLACES, time_zone_of
from tests.integration.conftest import CA, US
from tests.integration.money_truth import (
    CENT,
    amount_of,
    expected_column,
    leaf_lines,
    raw_event_groups,
    raw_transactions,
    related,
    stamp,
    when,
)

pytestmark = pytest.mark.integration

# North America only: the sandbox takes many minutes to make an EU marketplace's money world on this machine;
# EU fee VAT paths are covered by the dbt unit tests and the seed (AmazonFees/<fee>/Base and /Tax).
SELLS_IN = (US, CA)
ALLOCATED_BY_SALES = {"subscription", "advertising", "coupons_deals", "referral_fees", "fulfilment_fees", "refunds",
                      "chargebacks_claims", "reimbursements", "other_fees"}


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days)]


def _query(settings, statement, params=()):
    from orchestration.defs.resources import open_session

    with open_session(settings) as session, session.conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall()


@cache
def _extract_job():
    """The extraction assets as their own job (the production job also carries other checks on raw tables)."""
    from dagster import Definitions, define_asset_job

    from orchestration.defs.extraction import EXTRACTION_ASSETS
    from orchestration.defs.resources import Platform

    job = define_asset_job("extract_money", selection=EXTRACTION_ASSETS)
    return Definitions(assets=EXTRACTION_ASSETS, jobs=[job], resources={"platform": Platform()}).resolve_job_def(
        "extract_money")


def _run(instance, tenant_id: str, day: date, datasets: tuple[str, ...]):
    from dagster import AssetKey, MultiPartitionKey

    from orchestration.defs.extraction import EXTRACTION_ASSETS

    wanted = {AssetKey(["raw", name]) for name in datasets}
    selection = [k for a in EXTRACTION_ASSETS if set(a.keys) & wanted for k in a.keys]
    key = MultiPartitionKey({"tenant": tenant_id, "day": day.isoformat()})
    result = _extract_job().execute_in_process(
        instance=instance, partition_key=key, asset_selection=selection, raise_on_error=False)
    assert result.success, f"{tenant_id} {day} {datasets}"
    return result


# The dbt nodes of the money pipeline: a build must run every one of them, and none may fail. (Other areas'
# models are not this file's business: their tests say whether they build.)
MONEY_NODES = (
    "finance_transactions", "finance_lines", "financial_event_groups", "fee_taxonomy", "profit_and_loss", "pnl_",
    "settlement_reconciliation", "lines_sum_to_total", "keeps_every_posted_amount", "is_pnl_category", "fct_fees",
    "fct_margins", "money_events",
)
MONEY_MARTS = ("fct_profit_and_loss", "fct_settlement_reconciliation")


def _build_marts(instance, tenant_id: str):
    from dagster import AssetKey

    from orchestration.definitions import defs

    result = defs.resolve_job_def("build_marts").execute_in_process(
        instance=instance, partition_key=tenant_id, raise_on_error=False)
    problems = []
    for event in result.all_events:
        failure = event.step_failure_data if event.is_step_failure else None
        if failure and failure.user_failure_data:
            problems += [line for value in failure.user_failure_data.metadata.values()
                         for line in str(getattr(value, "value", value)).splitlines()]
    assert [p for p in problems if any(node in p for node in MONEY_NODES)] == []
    built = {e.asset_key for e in result.get_asset_materialization_events()}
    assert {AssetKey(["marts", name]) for name in MONEY_MARTS} <= built, problems
    return result


@pytest.fixture(scope="module")
def money(pipeline_stack, onboard, instance, settings):
    from orchestration.costs.store import import_unit_costs
    from orchestration.costs.validate import parse_unit_costs
    from orchestration.defs.partitions import TENANTS
    from orchestration.defs.resources import open_session

    seller, tenant = onboard("A1PROFITLOSS01", marketplaces=SELLS_IN,
                             profile={"skus": 6, "orders_per_day": 12, "refund_rate": 0.15})
    if tenant.tenant_id not in instance.get_dynamic_partitions(TENANTS.name):
        instance.add_dynamic_partitions(TENANTS.name, [tenant.tenant_id])
    with open_session(settings) as session:
        connection = session.seller_connection(tenant)
    now = datetime.now(UTC)
    # The last two settlements paid out: the newest is covered by every Finances day, the one before is not.
    published = [g for g in raw_event_groups(connection, US, now - timedelta(days=60))
                 if g.get("FinancialEventGroupEnd") and when(g["FinancialEventGroupEnd"]) + timedelta(hours=7) < now]
    # One group per marketplace and period (US and CA share the seller's cycle): the US dollar groups.
    groups = sorted((g for g in published if g["OriginalTotal"]["CurrencyCode"] == "USD"),
                    key=lambda g: g["FinancialEventGroupStart"])
    covered, previous = groups[-1], groups[-2]
    start, end = when(covered["FinancialEventGroupStart"]), when(covered["FinancialEventGroupEnd"])
    finance_days = _days(start.date(), (end - timedelta(microseconds=1)).date() + timedelta(days=1))
    transactions = {m: raw_transactions(connection, m, _midnight(finance_days[0]),
                                        _midnight(finance_days[-1] + timedelta(days=1))) for m in SELLS_IN}
    # The P&L window: the last three days of the period, or three days ending on an account-level posting.
    account_days = sorted({when(t["postedDate"]).date() for t in transactions[US]
                           if t["transactionType"] in ("ServiceFee", "ProductAdsPayment")
                           and all(sku is None for _, _, sku in leaf_lines(t))
                           and when(t["postedDate"]).date() >= finance_days[2]})
    last = account_days[-1] if account_days else finance_days[-1]
    pnl_days = [last - timedelta(days=2), last - timedelta(days=1), last]

    catalogue_skus = sorted({sku for ts in transactions.values() for t in ts for _, _, sku in leaf_lines(t) if sku})
    costs = "sku,unit_cost,currency,valid_from\n" + "".join(
        f"{sku},{Decimal('2.50') + n},{currency},{finance_days[0] - timedelta(days=60)}\n"
        for n, sku in enumerate(catalogue_skus) for currency in ("USD", "CAD"))
    with open_session(settings) as session:
        import_unit_costs(session.conn, tenant.tenant_id, parse_unit_costs(costs), source_name="test.csv")

    for day in finance_days:
        _run(instance, tenant.tenant_id, day, ("finance_transactions",) + (("orders",) if day in pnl_days else ()))
    publication_days = {(when(g["FinancialEventGroupEnd"]) + timedelta(hours=6)).date() for g in (covered, previous)}
    for day in sorted(publication_days):
        _run(instance, tenant.tenant_id, day, ("settlements",))
    for group in (covered, previous):
        _run(instance, tenant.tenant_id, when(group["FinancialEventGroupStart"]).date(), ("financial_event_groups",))
    _run(instance, tenant.tenant_id, now.date(), ("inventory_summaries",))
    _build_marts(instance, tenant.tenant_id)
    return {
        "seller": seller, "tenant": tenant, "connection": connection, "transactions": transactions,
        "finance_days": finance_days, "pnl_days": pnl_days, "covered": covered, "previous": previous,
        "settings": settings, "instance": instance,
    }


def _marts(money) -> sql.Identifier:
    return sql.Identifier(f"{money['tenant'].tenant_id}_marts")


def _raw(money) -> sql.Identifier:
    return sql.Identifier(f"{money['tenant'].tenant_id}_raw")


def test_every_transaction_type_and_breakdown_the_sandbox_serves_is_in_the_fee_taxonomy(money):
    import csv

    from orchestration.load.fee_taxonomy import SEED_PATH

    with SEED_PATH.open() as handle:
        seed = [r for r in csv.DictReader(handle) if r["source"] == "transactions"]
    known = {(r["transaction_type"], r["transaction_description"], r["amount_type"]) for r in seed}
    # Three months of every marketplace, so rarer money (deals, removals, aged-stock surcharges, clawbacks) is in.
    end = _midnight(money["finance_days"][-1] + timedelta(days=1))
    history = [t for m in SELLS_IN for t in raw_transactions(money["connection"], m, end - timedelta(days=90), end)]
    served = {(t["transactionType"], t.get("description") or "", path) for t in history for path, _, _ in leaf_lines(t)}
    unmapped = sorted(s for s in served if (s[0], s[1], s[2]) not in known and (s[0], "", s[2]) not in known)
    assert unmapped == []
    assert len({s[0] for s in served}) >= 5, "three months hold most transaction types"


def test_each_category_holds_exactly_the_money_posted_per_marketplace(money):
    want: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for marketplace, transactions in money["transactions"].items():
        for t in transactions:
            for path, amount, _ in leaf_lines(t):
                want[(marketplace, expected_column(t["transactionType"], t.get("description") or "", path))] += amount
    columns = sorted({column for _, column in want})
    rows = _query(money["settings"], sql.SQL(
        "select marketplace_id, {} from {}.fct_profit_and_loss where utc_day between %s and %s group by 1"
    ).format(sql.SQL(", ").join(sql.SQL("sum({})").format(sql.Identifier(c)) for c in columns), _marts(money)),
        (money["finance_days"][0], money["finance_days"][-1]))
    got = {(r[0], column): Decimal(value) for r in rows for column, value in zip(columns, r[1:], strict=True)}
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in want.items() if v}
    assert want[(US, "referral_fees")] < 0 and want[(US, "refunds")] < 0


def test_money_that_names_its_sku_lands_on_that_sku(money):
    want: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for marketplace, transactions in money["transactions"].items():
        for t in transactions:
            for path, amount, sku in leaf_lines(t):
                column = expected_column(t["transactionType"], t.get("description") or "", path)
                if sku and column in ("referral_fees", "fulfilment_fees", "storage_fees"):
                    want[(marketplace, sku, column)] += amount
    got = {}
    for column in ("referral_fees", "fulfilment_fees", "storage_fees"):
        rows = _query(money["settings"], sql.SQL(
            "select marketplace_id, sku, sum({}) from {}.fct_profit_and_loss"
            " where utc_day between %s and %s and sku is not null group by 1, 2"
        ).format(sql.Identifier(column), _marts(money)), (money["finance_days"][0], money["finance_days"][-1]))
        got.update({(r[0], r[1], column): Decimal(r[2]) for r in rows if r[2]})
    assert got == {k: v for k, v in want.items() if v}


FEE_CATEGORY_OF_COLUMN = {
    "referral_fees": "referral", "fulfilment_fees": "fulfilment", "storage_fees": "storage",
    "aged_storage_fees": "aged_storage", "inbound_fees": "inbound", "removal_disposal_fees": "removal_disposal",
    "advertising": "advertising", "subscription": "subscription", "coupons_deals": "coupons_deals",
    "other_fees": "other", "vat_on_fees": "fee_tax",
}


def test_the_fees_mart_holds_every_fee_category_amazon_charged(money):
    want: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for marketplace, transactions in money["transactions"].items():
        for t in transactions:
            for path, amount, _ in leaf_lines(t):
                column = expected_column(t["transactionType"], t.get("description") or "", path)
                if column in FEE_CATEGORY_OF_COLUMN:
                    want[(marketplace, FEE_CATEGORY_OF_COLUMN[column], path)] += amount
    rows = _query(money["settings"], sql.SQL(
        "select marketplace_id, fee_category, fee_type, sum(amount) from {}.fct_fees"
        " where utc_day between %s and %s group by 1, 2, 3").format(_marts(money)),
        (money["finance_days"][0], money["finance_days"][-1]))
    assert {(r[0], r[1], r[2]): Decimal(r[3]) for r in rows} == {k: v for k, v in want.items() if v}
    categories = {category for _, category, _ in want}
    assert categories >= {"referral", "fulfilment"} and len(categories) >= 3, categories


def test_margins_take_every_fee_and_refund_of_the_sku_on_its_local_posting_day(money):
    want: dict[tuple[str, str, date], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for marketplace, transactions in money["transactions"].items():
        for t in transactions:
            local_day = when(t["postedDate"]).astimezone(time_zone_of(marketplace)).date()
            currency = t["totalAmount"]["currencyCode"]
            for path, amount, sku in leaf_lines(t):
                column = expected_column(t["transactionType"], t.get("description") or "", path)
                if sku is None:
                    continue
                if column in FEE_CATEGORY_OF_COLUMN and column != "vat_on_fees":
                    want[(sku, currency, local_day)]["amazon_fees"] -= amount
                elif column in ("refunds", "chargebacks_claims"):
                    want[(sku, currency, local_day)]["refunds"] -= amount
    # Local days reach into the UTC days around them: the loaded UTC days touch one local day on either side.
    days = [money["finance_days"][0] - timedelta(days=1), money["finance_days"][-1] + timedelta(days=1)]
    rows = _query(money["settings"], sql.SQL(
        "select sku, currency_code, date_day, refunds, amazon_fees from {}.fct_margins"
        " where date_day between %s and %s").format(_marts(money)), (days[0], days[-1]))
    got = {(r[0], r[1], r[2]): {"refunds": Decimal(r[3]), "amazon_fees": Decimal(r[4])} for r in rows}
    expected = {k: {c: v.get(c, Decimal(0)) for c in ("refunds", "amazon_fees")} for k, v in want.items()
                if days[0] <= k[2] <= days[-1]}
    assert {k: v for k, v in got.items() if any(v.values())} == {k: v for k, v in expected.items() if any(v.values())}


def _ordered_sales_by_month(money) -> dict[tuple[str, str, date], dict[str, Decimal]]:
    """Ordered product sales (item price of the items not cancelled) per marketplace, currency, local month and
    SKU, from the raw orders rows as the report gave them."""
    channels = {m.sales_channel: m.marketplace_id for m in MARKETPLACES}
    rows = _query(money["settings"], sql.SQL(
        "select sales_channel, currency, purchase_date, sku, item_price, order_status, item_status from {}.orders"
    ).format(_raw(money)))
    out: dict[tuple[str, str, date], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for channel, currency, purchased, sku, price, order_status, item_status in rows:
        if "Cancelled" in (order_status, item_status) or price is None:
            continue
        marketplace = channels[channel]
        month = purchased.astimezone(time_zone_of(marketplace)).date().replace(day=1)
        out[(marketplace, currency, month)][sku] += Decimal(price)
    return out


def test_account_money_is_allocated_by_ordered_sales_of_the_month_and_the_rest_stays_unallocated(money):
    sales = _ordered_sales_by_month(money)
    account: dict[tuple[str, str, date, str], Decimal] = defaultdict(Decimal)
    for marketplace, transactions in money["transactions"].items():
        for t in transactions:
            local_day = when(t["postedDate"]).astimezone(time_zone_of(marketplace)).date()
            for path, amount, sku in leaf_lines(t):
                column = expected_column(t["transactionType"], t.get("description") or "", path)
                if sku is None and column in ALLOCATED_BY_SALES:
                    account[(marketplace, t["totalAmount"]["currencyCode"], local_day, column)] += amount
    assert account, "the period holds money that names no SKU (subscription, advertising)"
    checked = 0
    for (marketplace, currency, day, column), amount in account.items():
        weights = sales.get((marketplace, currency, day.replace(day=1)), {})
        total = sum(weights.values(), Decimal(0))
        want = {sku: (amount * w / total).quantize(CENT, rounding=ROUND_HALF_UP) for sku, w in weights.items()} \
            if total > 0 else {}
        leftover = amount - sum(want.values(), Decimal(0))
        rows = _query(money["settings"], sql.SQL(
            "select sku, sum({}) from {}.fct_profit_and_loss where marketplace_id = %s and currency_code = %s"
            " and date_day = %s group by sku").format(sql.Identifier(column), _marts(money)),
            (marketplace, currency, day))
        got = {sku: Decimal(v) for sku, v in rows}
        for sku, share in want.items():
            assert got.get(sku, Decimal(0)) == share, (marketplace, day, column, sku)
        assert got.get(None, Decimal(0)) == leftover, (marketplace, day, column)
        checked += 1
    assert checked


def test_the_covered_settlements_match_and_the_uncovered_one_is_partial(money):
    rows = _query(money["settings"], sql.SQL(
        "select settlement_id, marketplace_id, status, amazon_total, computed_total, settlement_start_date,"
        " deposit_status, deposit_total from {}.fct_settlement_reconciliation").format(_marts(money)))
    statuses = {r[0]: r for r in rows}
    assert rows and all(r[2] in ("matched", "partial") for r in rows), rows  # no false mismatch
    covered_start = when(money["covered"]["FinancialEventGroupStart"])
    covered = [r for r in rows if r[5] == covered_start]
    assert {r[1] for r in covered} == set(SELLS_IN)
    for settlement_id, marketplace, status, amazon_total, computed_total, _, deposit_status, _ in covered:
        assert (status, deposit_status) == ("matched", "deposited"), settlement_id
        raw_total = sum((amount_of(t["totalAmount"]) for t in money["transactions"][marketplace]
                         if related(t, "SETTLEMENT_ID") == settlement_id), Decimal(0))
        assert Decimal(computed_total) == raw_total == Decimal(amazon_total)
    group_total = Decimal(str(money["covered"]["OriginalTotal"]["CurrencyAmount"])).quantize(CENT)
    us_covered = next(r for r in covered if r[1] == US)
    assert Decimal(us_covered[3]) == Decimal(us_covered[7]) == group_total, "the total is what Amazon deposited"
    previous_start = when(money["previous"]["FinancialEventGroupStart"])
    assert {statuses[r[0]][2] for r in rows if r[5] == previous_start} == {"partial"}


def _extraction_outcome(money, day: date, pages: dict[str, list[dict]]):
    """Load a day's transactions documents (per marketplace) through the product's own load-and-land step."""
    from orchestration.defs.resources import open_session
    from orchestration.extract.pages import pages_document
    from orchestration.ingest import EXTRACTIONS, PartitionOutcome, load_and_land
    from orchestration.warehouse.grants import tenant_scope

    extraction = EXTRACTIONS["finance_transactions"]
    tenant_id = money["tenant"].tenant_id
    documents = [pages_document("listTransactions", p, {"marketplace_id": m}, {}) for m, p in pages.items()]
    outcome = PartitionOutcome(tenant_id, "finance_transactions", day.isoformat())
    with open_session(money["settings"]) as session:
        session.conn.commit()
        with tenant_scope(session.conn, tenant_id):
            load_and_land(conn=session.conn, vault=session.vault, landing=session.landing, tenant_id=tenant_id,
                          extraction=extraction, partition=day.isoformat(), documents=documents, outcomes=[outcome])
    return outcome


def test_an_unknown_transaction_type_lands_unclassified_is_counted_warns_and_the_totals_balance(money):
    from dagster import AssetCheckSeverity

    from orchestration.defs.extraction import classified_check, unclassified_lines
    from orchestration.defs.resources import open_session
    from orchestration.load.datasets import FINANCE_TRANSACTIONS
    from orchestration.warehouse.grants import tenant_scope

    day = money["pnl_days"][0]
    start = _midnight(day)
    real = raw_transactions(money["connection"], US, start, start + timedelta(days=1))
    canadian = raw_transactions(money["connection"], CA, start, start + timedelta(days=1))
    novel = {"transactionType": "BrandNewProgramFee", "transactionId": "T-NOVEL-1", "transactionStatus": "RELEASED",
             "description": "Something new", "postedDate": stamp(start + timedelta(hours=12)),
             "marketplaceDetails": {"marketplaceId": US, "marketplaceName": "Amazon.com"},
             "totalAmount": {"currencyCode": "USD", "currencyAmount": -1.23},
             "breakdowns": [{"breakdownType": "NewThings", "breakdownAmount": {"currencyCode": "USD",
                                                                             "currencyAmount": -1.23},
                             "breakdowns": [{"breakdownType": "Fee", "breakdownAmount": {
                                 "currencyCode": "USD", "currencyAmount": -1.23}}]}]}
    _extraction_outcome(money, day, {US: [{"transactions": [*real, novel]}], CA: [{"transactions": canadian}]})
    tenant_id = money["tenant"].tenant_id
    with open_session(money["settings"]) as session:
        session.conn.commit()
        with tenant_scope(session.conn, tenant_id):
            counts = unclassified_lines(session.conn, tenant_id, FINANCE_TRANSACTIONS, day.isoformat())
    assert counts["unclassified_lines"] == 1
    assert "BrandNewProgramFee: NewThings/Fee" in counts["unclassified_types"]
    check = classified_check(FINANCE_TRANSACTIONS, counts)
    assert (check.passed, check.severity) == (False, AssetCheckSeverity.WARN)

    _build_marts(money["instance"], tenant_id)  # the balance tests (lines = totals, P&L = posted) pass
    rows = _query(money["settings"], sql.SQL(
        "select sku, unclassified, net_profit from {}.fct_profit_and_loss where marketplace_id = %s"
        " and utc_day = %s and unclassified <> 0").format(_marts(money)), (US, day))
    assert [(r[0], Decimal(r[1])) for r in rows] == [(None, Decimal("-1.23"))]


def test_a_missing_transaction_makes_exactly_one_settlement_a_mismatch(money):
    tenant_id = money["tenant"].tenant_id
    covered_start = when(money["covered"]["FinancialEventGroupStart"])
    shipment = next(t for t in money["transactions"][CA] if t["transactionType"] == "Shipment"
                    and related(t, "SETTLEMENT_ID"))
    from orchestration.defs.resources import open_session
    from orchestration.warehouse.grants import tenant_scope

    with open_session(money["settings"]) as session:
        session.conn.commit()
        with tenant_scope(session.conn, tenant_id):
            deleted = session.conn.execute(sql.SQL("delete from {}.finance_transactions where transaction_id = %s")
                                           .format(_raw(money)), (shipment["transactionId"],)).rowcount
    assert deleted > 0
    _build_marts(money["instance"], tenant_id)
    rows = _query(money["settings"], sql.SQL(
        "select settlement_id, status, computed_difference, settlement_start_date"
        " from {}.fct_settlement_reconciliation").format(_marts(money)))
    mismatched = [r for r in rows if r[1] == "mismatch"]
    assert [r[0] for r in mismatched] == [related(shipment, "SETTLEMENT_ID")]
    assert Decimal(mismatched[0][2]) == amount_of(shipment["totalAmount"])
    assert mismatched[0][3] == covered_start


def test_the_new_marts_are_materialized_and_checked_in_dagster(money):
    from dagster import AssetKey

    instance = money["instance"]
    for name in ("fct_profit_and_loss", "fct_settlement_reconciliation"):
        assert instance.get_latest_materialization_event(AssetKey(["marts", name])) is not None, name
