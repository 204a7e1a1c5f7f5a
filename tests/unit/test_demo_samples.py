"""The demo's sample files are what local_stack/demo_samples.py makes, and the product's own import paths accept
them: every SKU of every demo seller has a cost in each of its marketplace currencies, some change within any 7 days
of demo history, and the exchange rates cover every marketplace currency of the demo."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from local_stack.demo import DEMO_SELLERS, FX_SAMPLE, unit_costs_sample
from local_stack.demo_samples import SANDBOX_SEED, samples
from orchestration.costs.validate import parse_unit_costs
from orchestration.extract.marketplaces import BY_ID
from orchestration.fx.parse import parse_ecb_rates
from spapi_sandbox.world.catalogue import SellerProfile, catalogue


def test_the_shipped_files_are_the_generated_ones():
    for path, text in samples().items():
        assert path.read_text() == text, f"{path.name} differs: run `python -m local_stack.demo_samples`"


@pytest.mark.parametrize("seller", DEMO_SELLERS, ids=lambda s: s.seller_id)
def test_every_demo_sku_has_a_cost_in_each_of_its_currencies_and_some_costs_change_weekly(seller):
    costs = parse_unit_costs(unit_costs_sample(seller).read_text())
    profile = SellerProfile.from_dict(seller.seller_id, seller.marketplace_ids, seller.profile)
    skus = {s.sku for s in catalogue(SANDBOX_SEED, profile)}
    currencies = {BY_ID[m].currency for m in seller.marketplace_ids}
    assert {(c.sku, c.currency) for c in costs} == {(s, c) for s in skus for c in currencies}
    # Any 7 days of the demo's history (here: each week of 2026 and 2027) hold a cost change for some SKU.
    starts = {c.valid_from for c in costs}
    day = date(2026, 1, 5)
    while day < date(2027, 12, 25):
        assert any(day <= start < day + timedelta(days=7) for start in starts), day
        day += timedelta(days=7)
    assert all(c.unit_cost > 0 for c in costs)


def test_the_exchange_rates_cover_the_demo_currencies_on_business_days_only():
    rates = parse_ecb_rates(FX_SAMPLE.read_text())
    wanted = {BY_ID[m].currency for s in DEMO_SELLERS for m in s.marketplace_ids} - {"EUR"}
    assert wanted <= {r.currency for r in rates}
    days = {r.rate_date for r in rates}
    assert all(d.weekday() < 5 for d in days)
    assert date(2026, 11, 20) in days and date(2026, 11, 21) not in days  # a Friday and a Saturday
