"""great-expectations validates with less work (gx_less_work) and gives the same results: every suite we ship, on
rows that pass and rows that fail, validated with and without the three changes."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from orchestration.quality import expectations, gx_less_work

SUITES = sorted(p.stem for p in (expectations.EXPECTATIONS_DIR / "gx" / "expectations").glob("*.json"))
START = datetime(2026, 11, 30, tzinfo=UTC)
PARAMETERS = {"partition_start": START, "partition_end": START + timedelta(days=1)}


@pytest.fixture(scope="module")
def installed():
    expectations.warm_up()  # installs the changes, as a validation does
    assert gx_less_work.ORIGINALS, "not installed over this great-expectations"
    return gx_less_work.ORIGINALS


@contextmanager
def great_expectations_own(originals):
    """great-expectations as it ships, for the length of the block."""
    import great_expectations.core.id_dict as id_dict
    import great_expectations.util as gx_util
    from great_expectations.expectations.expectation import Expectation

    ours = Expectation.configuration, gx_util.convert_to_json_serializable
    Expectation.configuration = property(originals["configuration"])
    gx_util.convert_to_json_serializable = id_dict.convert_to_json_serializable = \
        originals["convert_to_json_serializable"]
    try:
        yield
    finally:
        Expectation.configuration = ours[0]
        gx_util.convert_to_json_serializable = id_dict.convert_to_json_serializable = ours[1]


def _columns(suite) -> dict[str, str]:
    """Each column of the suite's table, with the kind of value its expectations look for."""
    kinds = {}
    for expectation in suite.expectations:
        kwargs = expectation.configuration.kwargs
        if expectation.expectation_type == "expect_table_columns_to_match_set":
            kinds.update({c: kinds.get(c, "text") for c in kwargs["column_set"]})
        elif expectation.expectation_type == "expect_column_values_to_be_between":
            bound = kwargs.get("min_value", kwargs.get("max_value"))
            kinds[kwargs["column"]] = "time" if isinstance(bound, dict) else "number"
    return kinds


def _rows(suite, passing: bool) -> pd.DataFrame:
    """Rows that meet the suite's null, range and time rules (`passing`), or break them: nulls, a value out of
    range, a time outside the partition, a repeated row."""
    values = {"text": "ABC", "number": 2.0, "time": START + timedelta(hours=3)}
    broken = {"text": None, "number": -1e12, "time": START - timedelta(days=3)}
    columns = _columns(suite)
    first = {c: values[k] for c, k in columns.items()}
    if passing:
        second = {c: (f"ABD{n}" if k == "text" else values[k]) for n, (c, k) in enumerate(columns.items())}
    else:
        second = {c: broken[k] for c, k in columns.items()}
    return pd.DataFrame([first, second] + ([] if passing else [first]))


def _validate(context, name: str, frame: pd.DataFrame) -> list[dict]:
    suite = expectations.load_suite(name)
    source = context.data_sources.add_pandas(f"frames_{len(context.data_sources.all())}")
    batch = source.add_dataframe_asset("rows").add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": frame})
    with gx_less_work.one_validation():
        result = batch.validate(suite, result_format="SUMMARY", expectation_parameters=PARAMETERS)
    return [json.loads(json.dumps(r.to_json_dict(), default=str)) for r in result.results]


def _context(skip_writes: bool):
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    if skip_writes:
        gx_less_work.skip_config_writes(context)
    return context


@pytest.mark.parametrize("suite_name", SUITES)
def test_results_equal_great_expectations_own_on_passing_and_failing_rows(installed, suite_name):
    suite = expectations.load_suite(suite_name)
    passing, failing = _rows(suite, passing=True), _rows(suite, passing=False)
    ours = [_validate(_context(skip_writes=True), suite_name, f) for f in (passing, failing)]
    with great_expectations_own(installed):
        own = [_validate(_context(skip_writes=False), suite_name, f) for f in (passing, failing)]
    assert ours == own
    verdicts = [r["success"] for results in ours for r in results]
    assert True in verdicts and False in verdicts, "the rows should make some expectations pass and some fail"


def test_a_configuration_is_built_once_per_validation_and_afresh_outside(installed):
    from great_expectations.expectations.expectation import Expectation

    expectation = expectations.load_suite(SUITES[0]).expectations[1]
    built = []
    original = installed["configuration"]

    def counted(self):
        built.append(self)
        return original(self)

    installed["configuration"] = counted
    try:
        with gx_less_work.one_validation():
            first = expectation.configuration
            assert expectation.configuration is first
        assert len(built) == 1
        assert expectation.configuration is not first  # outside a validation, great-expectations' own way
        assert len(built) == 2
    finally:
        installed["configuration"] = original
    assert isinstance(Expectation.configuration, property)


def test_an_ephemeral_context_writes_no_yaml_but_keeps_its_assets(installed):
    context = _context(skip_writes=True)
    written = []
    context.variables.save = lambda: written.append(True)
    source = context.data_sources.add_pandas("frames")
    source.add_dataframe_asset("rows").add_batch_definition_whole_dataframe("all")
    assert written == []
    assert context.data_sources.get("frames").get_asset("rows").get_batch_definition("all") is not None


def test_a_great_expectations_of_another_shape_keeps_its_own(monkeypatch):
    from great_expectations.expectations.expectation import Expectation

    monkeypatch.setattr(gx_less_work, "ORIGINALS", {})
    monkeypatch.setitem(gx_less_work.WRITTEN_AGAINST, "configuration", "0" * 64)
    before = Expectation.configuration
    assert gx_less_work.install() is False
    assert Expectation.configuration is before
    context = _context(skip_writes=True)  # nothing remembered: the context keeps writing
    assert "_save_project_config" not in vars(context)


def test_the_digests_are_of_the_installed_originals(installed):
    for name, function in installed.items():
        assert gx_less_work.source_digest(function) == gx_less_work.WRITTEN_AGAINST[name]
