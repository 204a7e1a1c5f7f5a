"""Local stand-in for Login with Amazon and the Selling Partner API, for development and tests only.

Run it with ``python -m spapi_sandbox serve ...`` (see docs/sandbox.md). Nothing in ``orchestration/``
imports this package; tests read the generated world's truth through ``spapi_sandbox.world``.
"""
