"""Takes out three pieces of work great-expectations 1.x redoes for nothing each time it validates one of our tables.

A daily refresh validates every table of every tenant, and each table's validation was about 0.1 s of CPU, most
of it in great-expectations' own Python (a tenant's run waits for the tables loaded last). Each piece below
keeps great-expectations' answers unchanged (tests/unit/test_gx_less_work.py validates every suite we ship
with and without them and compares the results, on passing and failing rows):

1. **An expectation's configuration, once per validation.** `Expectation.configuration` rebuilds an
   ExpectationConfiguration from the pydantic model on every access, and one table's validation reads it about
   600 times (gx_kwargs_once.py already took out the worst of it). Inside `one_validation()` it is built once
   per expectation object. great-expectations makes new expectation objects for each validation
   (`to_domain_obj`) and does not change them while it validates, so what is kept lives exactly one
   validation, on its own thread.
2. **`None` made JSON-ready at once.** Every metric's kwargs are turned into an id through
   `convert_to_json_serializable`, about 12,000 times a table, and most values are None, which the original
   returns as it is only after some 25 type and numpy dtype checks. None now returns first.
3. **No YAML written that nobody reads.** An ephemeral context writes its whole project configuration as YAML
   into an in-memory store each time a query asset or batch definition is added: twice a table, and each write
   holds every asset the run has added so far, so a backfill of many days paid for it quadratically.
   `skip_config_writes(context)` stops it for that one context (the configuration itself stays in memory,
   where great-expectations reads it).

Like gx_kwargs_once, each is installed only over the exact function it was written against (its source's
digest); any other great-expectations keeps its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from orchestration.quality.gx_kwargs_once import source_digest

logger = logging.getLogger(__name__)

# sha256 of the source of each original, in great-expectations 1.24.1.
WRITTEN_AGAINST = {
    "configuration": "017b2b788132d570b370ac396d96dbc7ff212418ffcf6c4c63b56a6518022685",
    "convert_to_json_serializable": "a282e2e272fc0dd2448354369b6c6223decf889883adab1aab7679cd38205523",
    "_save_project_config": "55657d61c97eeb3b6089ebe845a66804df595e23824058935e7d6b7a680b0e37",
}
ORIGINALS: dict[str, Any] = {}

_validation = threading.local()  # .kept: {id(expectation): (expectation, configuration)} inside one_validation()


@contextmanager
def one_validation() -> Iterator[None]:
    """Within the block, on this thread, each expectation's configuration is built once (see 1 above)."""
    _validation.kept = {}
    try:
        yield
    finally:
        _validation.kept = None


def _configuration(self):
    kept = getattr(_validation, "kept", None)
    if kept is None:
        return ORIGINALS["configuration"](self)
    # The expectation is held beside its configuration, so its id cannot be reused while kept.
    hit = kept.get(id(self))
    if hit is None or hit[0] is not self:
        hit = kept[id(self)] = (self, ORIGINALS["configuration"](self))
    return hit[1]


def _convert_to_json_serializable(data):
    if data is None:
        return None
    return ORIGINALS["convert_to_json_serializable"](data)


def _originals() -> dict[str, Any]:
    from great_expectations.data_context.data_context.ephemeral_data_context import EphemeralDataContext
    from great_expectations.expectations.expectation import Expectation
    from great_expectations.util import convert_to_json_serializable

    return {"configuration": Expectation.configuration.fget,
            "convert_to_json_serializable": convert_to_json_serializable,
            "_save_project_config": EphemeralDataContext._save_project_config}


def install() -> bool:
    """Put 1 and 2 in place when great-expectations' functions are the ones they were written against (and
    remember 3's original for `skip_config_writes`); True if so."""
    if ORIGINALS:
        return True
    current = _originals()
    try:
        same = all(source_digest(f) == WRITTEN_AGAINST[name] for name, f in current.items())
    except (OSError, TypeError):  # no source to compare (an install without .py files): leave them be
        same = False
    if not same:
        logger.info("great-expectations differs from the one %s was written against: left as it is", __name__)
        return False
    import great_expectations.core.id_dict as id_dict
    import great_expectations.util as gx_util
    from great_expectations.expectations.expectation import Expectation

    ORIGINALS.update(current)
    Expectation.configuration = property(_configuration, doc=Expectation.configuration.__doc__)
    # The original calls itself through its module's name, so nested values take the short way too; id_dict
    # imported the name before, and makes the metric ids.
    gx_util.convert_to_json_serializable = _convert_to_json_serializable
    id_dict.convert_to_json_serializable = _convert_to_json_serializable
    return True


def skip_config_writes(context) -> None:
    """Stop this ephemeral context writing its project configuration into its in-memory store (3 above)."""
    if ORIGINALS.get("_save_project_config") is type(context)._save_project_config:
        context._save_project_config = lambda: None
