"""Makes great-expectations build an expectation's configuration once per kwargs lookup, not once per key.

In great-expectations 1.x, `Expectation.configuration` is a property that rebuilds an ExpectationConfiguration
from the pydantic model (`self.dict()`) on every access, and `_get_domain_kwargs`, `_get_success_kwargs` and
`_get_success_kwarg` access it once for every key they read. Validating one table of ours read it ~950 times:
about a third of the validation's time, which a daily refresh pays for every table of every tenant. The
replacements read it once and return the same values (tests/unit/test_gx_kwargs_once.py compares them with
the originals for every expectation of our suites). They are installed only over the exact functions they
were written against; any other great-expectations keeps its own.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from typing import Any

logger = logging.getLogger(__name__)

# sha256 of the source of each original, in great-expectations 1.24.1.
WRITTEN_AGAINST = {
    "_get_domain_kwargs": "91ad2a0670ff463ad99457f1e5c351b7fbd64cac8f6c200a18a437552f2adfd0",
    "_get_success_kwargs": "fe376905e18bc525a128d251281e7f48309e82f820f23c8e1d93d85e2739b26f",
    "_get_success_kwarg": "baef37a186b4087123ae215810bc46c0761b276c4db2bb336865fe959e5bffd2",
}


def _get_domain_kwargs(self) -> dict[str, Any]:
    kwargs = self.configuration.kwargs
    return {key: kwargs.get(key, self._get_default_value(key)) for key in self.domain_keys}


def _get_success_kwargs(self) -> dict[str, Any]:
    domain_kwargs = self._get_domain_kwargs()
    kwargs = self.configuration.kwargs
    success_kwargs = {key: kwargs.get(key, self._get_default_value(key)) for key in self.success_keys}
    success_kwargs.update(domain_kwargs)
    return success_kwargs


def _get_success_kwarg(self, key: str, default: Any = None) -> Any:
    kwargs = self.configuration.kwargs
    if key in kwargs:
        return kwargs[key]
    return ORIGINALS["_get_success_kwarg"](self, key, default)  # a default: the original says why, if need be


REPLACEMENTS = {f.__name__: f for f in (_get_domain_kwargs, _get_success_kwargs, _get_success_kwarg)}
ORIGINALS: dict[str, Any] = {}


def source_digest(function) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()


def install() -> bool:
    """Replace the three methods when they are the ones these replacements were written against; True if so."""
    from great_expectations.expectations.expectation import Expectation

    if ORIGINALS:
        return True
    current = {name: getattr(Expectation, name) for name in REPLACEMENTS}
    try:
        same = all(source_digest(f) == WRITTEN_AGAINST[name] for name, f in current.items())
    except (OSError, TypeError):  # no source to compare (an install without .py files): leave them be
        same = False
    if not same:
        logger.info("great-expectations' kwargs lookups differ from those %s was written against: left as they are",
                    __name__)
        return False
    ORIGINALS.update(current)
    for name, replacement in REPLACEMENTS.items():
        setattr(Expectation, name, replacement)
    return True
