"""The project's one error base class: a refusal or failure whose message is written for a person.

Every error the code raises on purpose derives from `RetkeeError` (beside the standard class it always was,
`ValueError` or `RuntimeError`, so older `except` clauses keep working): bad input, a missing setting, Vault
refusing, a tenant in the wrong state, a manifest not built. Its message is one line that names what is wrong
and never a secret, so the command line shows it as it is, in one place (cli.py), with no traceback.
Dependency-free: every layer may import it.
"""

from __future__ import annotations


class RetkeeError(Exception):
    """A refusal or failure that a person can act on; the message says why, in one line, with no secret."""
