"""A full refresh gives exactly the incremental result (issue 15, item 6).

One sandbox seller's money, sales and traffic arrive as a daily pipeline gets them: five days of about 11
weeks ago and a stock snapshot (today's) first, then recent days one by one, each followed by an incremental
build of the marts (macros/incremental_window.sql); then the money of a recent day posted late (inside the
restatement lookback), then one more of the old days loaded late with a unit cost valid from among them (both
before the window: only the watermark `source_loaded_at` finds them). Every incremental mart is then compared
row for row, every column but `source_loaded_at`, with a `--full-refresh` of the same raw data. The rows
outside a build's window must be kept as they were, not rebuilt (their `source_loaded_at` says which build
wrote them), or the comparison would prove nothing.

The extraction is the product's own (ingest_partition, the step of the extraction assets) against the sandbox;
the builds are the tenant runner's, as the `build_marts` asset runs them, on the incremental marts and their
parents only (the other marts are full tables, whose own tests build them).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from psycopg import sql

pytestmark = pytest.mark.integration

MARTS = ("fct_daily_sales", "fct_fees", "fct_margins", "fct_profit_and_loss", "fct_sales_trends")
SELECT = tuple(f"+{mart}" for mart in MARTS)
DAILY = ("orders", "finance_transactions", "sales_traffic")
TODAY = datetime.now(UTC).date()
# Days well before any recent build's window (which starts at most 26 + 30 days back: the month's first day).
EARLY = [TODAY - timedelta(days=n) for n in range(80, 75, -1)]
LATE_EARLY_DAY = TODAY - timedelta(days=75)
RECENT = [TODAY - timedelta(days=n) for n in range(12, 5, -1)]  # old enough that every order is final
LATE_MONEY_DAY = RECENT[4]  # its money is extracted after the two days after it were built


def _extract(settings, tenant_id, work) -> None:
    from orchestration.defs.resources import open_session
    from orchestration.extract.catalogue import EXTRACTIONS
    from orchestration.load.pipeline import ingest_partition
    from orchestration.warehouse.grants import tenant_scope

    with open_session(settings) as session:
        tenant = session.registry.get(tenant_id)
        seller = session.seller_connection(tenant)
        session.conn.commit()
        with tenant_scope(session.conn, tenant_id):
            for name, day in work:
                ingest_partition(tenant=tenant, extraction=EXTRACTIONS[name], day=day, vault=session.vault,
                                 seller=seller, landing=session.landing, conn=session.conn)


def _build(settings, tenant_id, *, command="run", full_refresh=False) -> None:
    """The tenant's incremental marts and their parents, as the `tenant_models` asset builds them."""
    from orchestration.defs.marts import dbt_environment, prepare_tenant_sources
    from orchestration.defs.resources import open_session
    from orchestration.tenants.settings import get_settings
    from orchestration.transform.tenant_runner import shared_runner
    from orchestration.warehouse.grants import tenant_scope

    with open_session(settings) as session:
        username, password = session.vault.warehouse_login()
        dbt_vars = get_settings(session.conn, tenant_id).dbt_vars()
        session.conn.commit()
        with tenant_scope(session.conn, tenant_id):
            prepare_tenant_sources(session.conn, tenant_id)
        build = shared_runner().build(tenant_id, dbt_environment(tenant_id, username, password.reveal()),
                                      select=SELECT, command=command, full_refresh=full_refresh,
                                      dbt_vars=dbt_vars)
    assert build.success, build.problems()


def _query(settings, statement, params=()):
    from orchestration.defs.resources import open_session

    with open_session(settings) as session, session.conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall()


def _rows(settings, tenant_id) -> dict[str, Counter]:
    """Every mart's rows, every column but the watermark, as a multiset."""
    marts = {}
    for mart in MARTS:
        columns = [c for (c,) in _query(settings, "select column_name from information_schema.columns where"
                                        " table_schema = %s and table_name = %s and column_name <> 'source_loaded_at'"
                                        " order by ordinal_position", (f"{tenant_id}_marts", mart))]
        marts[mart] = Counter(_query(settings, sql.SQL("select {} from {}.{}").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(f"{tenant_id}_marts"),
            sql.Identifier(mart))))
    return marts


def _written_at(settings, tenant_id, mart, day_column, days) -> set:
    """Which builds wrote a mart's rows of the given days (their watermarks)."""
    return {w for (w,) in _query(settings, sql.SQL("select distinct source_loaded_at from {}.{} where {} = any(%s)")
                                 .format(sql.Identifier(f"{tenant_id}_marts"), sql.Identifier(mart),
                                         sql.Identifier(day_column)), (days,))}


def _import_cost(settings, tenant_id, valid_from) -> None:
    from orchestration.costs.store import import_unit_costs
    from orchestration.costs.validate import parse_unit_costs
    from orchestration.defs.resources import open_session

    (sku, currency), = _query(settings, sql.SQL("select sku, currency from {}.orders order by sku limit 1")
                              .format(sql.Identifier(f"{tenant_id}_raw")))
    with open_session(settings) as session:
        import_unit_costs(session.conn, tenant_id,
                          parse_unit_costs(f"sku,unit_cost,currency,valid_from\n{sku},3.25,{currency},{valid_from}\n"),
                          source_name="late-cost.csv")


@pytest.fixture(scope="module")
def incremental_then_full(onboard, settings):
    seller, tenant = onboard("A1RETKEEINCRM")
    tenant_id = tenant.tenant_id
    first_days = [*EARLY, *RECENT[:3]]
    _extract(settings, tenant_id, [(name, day) for day in first_days for name in DAILY]
             + [("inventory_summaries", TODAY)])
    _build(settings, tenant_id, command="build")
    early_first = {m: _written_at(settings, tenant_id, m, "date_day", EARLY) for m in ("fct_profit_and_loss",)}
    for day in RECENT[3:]:
        _extract(settings, tenant_id, [(name, day) for name in DAILY
                                       if not (day == LATE_MONEY_DAY and name == "finance_transactions")])
        _build(settings, tenant_id)
    before_late_money = _rows(settings, tenant_id)
    _extract(settings, tenant_id, [("finance_transactions", LATE_MONEY_DAY)])
    _build(settings, tenant_id)
    early_kept = {m: _written_at(settings, tenant_id, m, "date_day", EARLY) for m in early_first}
    after_late_money = _rows(settings, tenant_id)
    _extract(settings, tenant_id, [(name, LATE_EARLY_DAY) for name in ("orders", "finance_transactions")])
    _import_cost(settings, tenant_id, EARLY[2])
    _build(settings, tenant_id, command="build")  # the data tests too, on incrementally built tables
    incremental = _rows(settings, tenant_id)
    _build(settings, tenant_id, full_refresh=True)
    return {"tenant": tenant_id, "incremental": incremental, "full": _rows(settings, tenant_id),
            "early_first": early_first, "early_kept": early_kept,
            "before_late_money": before_late_money, "after_late_money": after_late_money}


@pytest.mark.parametrize("mart", MARTS)
def test_a_full_refresh_gives_exactly_the_incremental_rows(incremental_then_full, mart):
    incremental, full = incremental_then_full["incremental"][mart], incremental_then_full["full"][mart]
    assert full, mart
    assert sorted(incremental - full, key=str)[:5] == [] and sorted(full - incremental, key=str)[:5] == []


def test_rows_before_the_window_are_kept_not_rebuilt(incremental_then_full):
    # The early days are before every recent build's window: their rows stay those of the first build (one
    # watermark) until the late early day and the cost are loaded.
    first, kept = incremental_then_full["early_first"], incremental_then_full["early_kept"]
    assert len(first["fct_profit_and_loss"]) == 1 and kept == first


def test_money_posted_late_inside_the_lookback_replaces_its_days_rows(incremental_then_full):
    before = incremental_then_full["before_late_money"]["fct_fees"]
    after = incremental_then_full["after_late_money"]["fct_fees"]
    assert not any(row[1] == LATE_MONEY_DAY for row in before)  # utc_day is fct_fees' second column
    assert any(row[1] == LATE_MONEY_DAY for row in after)
