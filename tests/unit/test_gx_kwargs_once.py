"""great-expectations reads an expectation's configuration once per kwargs lookup (gx_kwargs_once): the same
values as great-expectations' own methods, for every expectation of every suite we ship."""

from __future__ import annotations

import pytest

from orchestration.quality import expectations, gx_kwargs_once

SUITES = sorted(p.stem for p in (expectations.EXPECTATIONS_DIR / "gx" / "expectations").glob("*.json"))


@pytest.fixture(scope="module")
def originals():
    expectations.warm_up()  # installs the replacements, as a validation does
    assert gx_kwargs_once.ORIGINALS, "not installed over this great-expectations"
    return gx_kwargs_once.ORIGINALS


@pytest.mark.parametrize("suite_name", SUITES)
def test_every_lookup_equals_great_expectations_own(originals, suite_name):
    suite = expectations.load_suite(suite_name)
    assert suite.expectations
    for expectation in suite.expectations:
        assert type(expectation)._get_success_kwargs is gx_kwargs_once._get_success_kwargs
        assert expectation._get_domain_kwargs() == originals["_get_domain_kwargs"](expectation)
        assert expectation._get_success_kwargs() == originals["_get_success_kwargs"](expectation)
        keys = {*expectation.domain_keys, *expectation.success_keys, *expectation.runtime_keys, "not_a_key"}
        for key in keys:
            ours = expectation._get_success_kwarg(key, "fallback")
            assert ours == originals["_get_success_kwarg"](expectation, key, "fallback"), key


def test_a_great_expectations_of_another_shape_keeps_its_own(monkeypatch):
    from great_expectations.expectations.expectation import Expectation

    monkeypatch.setattr(gx_kwargs_once, "ORIGINALS", {})
    monkeypatch.setitem(gx_kwargs_once.WRITTEN_AGAINST, "_get_domain_kwargs", "0" * 64)
    before = Expectation._get_domain_kwargs
    assert gx_kwargs_once.install() is False
    assert Expectation._get_domain_kwargs is before


def test_the_digests_are_of_the_installed_originals(originals):
    for name, function in originals.items():
        assert gx_kwargs_once.source_digest(function) == gx_kwargs_once.WRITTEN_AGAINST[name]


def test_a_great_expectations_without_source_keeps_its_own(monkeypatch):
    from great_expectations.expectations.expectation import Expectation

    def no_source(_function):
        raise OSError("could not get source code")

    monkeypatch.setattr(gx_kwargs_once, "ORIGINALS", {})
    monkeypatch.setattr(gx_kwargs_once.inspect, "getsource", no_source)
    before = Expectation._get_domain_kwargs
    assert gx_kwargs_once.install() is False
    assert Expectation._get_domain_kwargs is before
