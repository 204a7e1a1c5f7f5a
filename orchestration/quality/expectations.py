"""Runs great-expectations suites from the `expectations/` file project against one loaded partition.

Suites are read from the committed file project; validation happens in an ephemeral context so a run
never writes into the repository. A loaded partition is validated where it lives, in PostgreSQL
(`validate_queries`: every table of the partition in one run; GX's SQL engine turns each expectation into a
query), so a 1M-row partition costs no memory. GX is asked for verdicts only (result format BOOLEAN_ONLY): no
sample of failing values is fetched, so no row value leaves the warehouse and each expectation costs fewer
queries. Each table's result becomes a Dagster asset check evaluation.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from orchestration.quality.gx_less_work import one_validation

EXPECTATIONS_DIR = Path(__file__).resolve().parents[2] / "expectations"

logging.getLogger("great_expectations").setLevel(logging.WARNING)


VERDICTS_ONLY = "BOOLEAN_ONLY"


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    success: bool
    evaluated: int
    failed: list[str]  # expectation types that failed, with their column; never row values


def warm_up() -> None:
    """Create the contexts now (a worker does, before it forks): the first validation is then as quick as the rest."""
    _contexts()


@lru_cache(maxsize=1)
def _contexts():
    # GX reads this when it is first imported, here; set where GX is used, not when the code location loads.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    from orchestration.quality import gx_kwargs_once, gx_less_work

    gx_kwargs_once.install()
    gx_less_work.install()
    files = gx.get_context(mode="file", project_root_dir=str(EXPECTATIONS_DIR))
    from great_expectations.data_context.types.base import ProgressBarsConfig

    runtime = gx.get_context(mode="ephemeral")
    runtime.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    gx_less_work.skip_config_writes(runtime)
    return files, runtime


def load_suite(suite_name: str):
    files, _ = _contexts()
    return files.suites.get(suite_name)


def validate_query(
    suite_name: str, connect: Callable[[], object], query: str, parameters: dict | None = None
) -> SuiteOutcome:
    """Validate the rows `query` returns against one suite (validate_queries with one table)."""
    return validate_queries({suite_name: query}, connect, parameters)[suite_name]


def validate_queries(
    queries: Mapping[str, str], connect: Callable[[], object], parameters: dict | None = None
) -> dict[str, SuiteOutcome]:
    """Validate several tables of one partition in one great-expectations run (`queries` maps a suite name to
    the query of its table's rows)."""
    with validation_run(connect) as run:
        return {suite: run.validate(suite, query, parameters) for suite, query in queries.items()}


class ValidationRun:
    """One great-expectations run over many tables, in the database: one data source and one connection serve
    every table, each table's rows checked against its own suite as it is handed in. Tables share a run because
    the data source, its engine and the connection cost more than a small partition's expectations. Used by one
    thread at a time."""

    def __init__(self, connect: Callable[[], object]) -> None:
        from sqlalchemy.pool import StaticPool

        _, self._runtime = _contexts()
        self._name = f"warehouse_{uuid.uuid4().hex}"
        self._source = self._runtime.data_sources.add_postgres(
            self._name, connection_string="postgresql+psycopg://retkee@warehouse/retkee",
            kwargs={"creator": connect, "poolclass": StaticPool},  # one connection for the whole run
        )
        self._tables = 0

    def validate(self, suite_name: str, query: str, parameters: dict | None = None) -> SuiteOutcome:
        self._tables += 1
        name = f"{suite_name}_{self._tables}"
        asset = self._source.add_query_asset(name, query=query)
        batch = asset.add_batch_definition_whole_table(name).get_batch()
        with one_validation():
            result = batch.validate(load_suite(suite_name), result_format=VERDICTS_ONLY,
                                    expectation_parameters=parameters or {})
        return _outcome(suite_name, result)

    def close(self) -> None:
        self._source.get_engine().dispose()
        self._runtime.data_sources.delete(self._name)


@contextmanager
def validation_run(connect: Callable[[], object]) -> Iterator[ValidationRun]:
    """A ValidationRun, closed (its connection too) when the block ends. `connect` opens a new DB-API (psycopg)
    connection: credentials stay in it and never enter GX's configuration. Each query is built by the caller
    from validated identifiers only."""
    run = ValidationRun(connect)
    try:
        yield run
    finally:
        run.close()


def _outcome(suite_name: str, result) -> SuiteOutcome:
    failed = []
    for item in result.results:
        if not item.success:
            config = item.expectation_config
            column = config.kwargs.get("column") or config.kwargs.get("column_list") or ""
            failed.append(f"{config.type}({column})")
    return SuiteOutcome(suite=suite_name, success=bool(result.success), evaluated=len(result.results), failed=failed)
