"""The door of every SP-API operation: access-token check, injected faults, then the operation's usage plan.

Every answer given to a known seller is counted (call_counts.py) by how it was given, under the seller and under
the application (the LWA client id) that called. A cap Amazon counts per application and report type is checked
by the route that knows the report type (`Caller.take_application_cap`).

Used as a FastAPI dependency, ``Depends(gate("getReport"))``. It records the usage plan on the request so
that ``headers.RateLimitHeaderMiddleware`` can send ``x-amzn-RateLimit-Limit`` on 2xx/400/404 answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from .context import Sandbox, sandbox_of
from .errors import QUOTA_EXCEEDED_BODY, UNAUTHORIZED_BODY
from .ratelimit import APPLICATION_CAPS, USAGE_PLANS


@dataclass(frozen=True)
class Caller:
    seller: dict
    client_id: str
    operation: str
    sandbox: Sandbox
    call: dict  # this call's entry in the call log (call_counts.py)

    @property
    def seller_id(self) -> str:
        return self.seller["seller_id"]

    def take_application_cap(self, report_type: str) -> None:
        """Count the (valid) call under its report type; 429 QuotaExceeded when the application's cap is spent."""
        self.sandbox.calls.note_report_type(self.call, report_type)
        if (self.operation, report_type) not in APPLICATION_CAPS:
            return
        if not self.sandbox.app_caps.try_acquire(self.client_id, self.operation, report_type):
            self.sandbox.calls.refuse(self.call, f"{report_type} application cap")
            raise GateRefusal(429, QUOTA_EXCEEDED_BODY)


class GateRefusal(Exception):
    """An answer given before the operation runs (403, 429, injected 5xx)."""

    def __init__(self, status: int, body: dict, headers: dict | None = None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def gate(operation: str):
    plan = USAGE_PLANS[operation]

    def dependency(request: Request) -> Caller:
        sandbox = sandbox_of(request)
        verified = sandbox.tokens.verify(request.headers.get("x-amz-access-token"), sandbox.state)
        if verified is None:
            raise GateRefusal(403, UNAUTHORIZED_BODY)
        seller, client_id = verified
        injected = sandbox.faults.api_fault(seller["seller_id"], operation)
        if injected is not None:
            sandbox.calls.record(seller["seller_id"], operation, "faulted", client_id)
            raise GateRefusal(injected.status, injected.body())
        if not sandbox.limiter.try_acquire(seller["seller_id"], client_id, operation):
            sandbox.calls.record(seller["seller_id"], operation, "throttled", client_id)
            raise GateRefusal(429, QUOTA_EXCEEDED_BODY)
        call = sandbox.calls.record(seller["seller_id"], operation, "admitted", client_id)
        request.state.rate_limit = plan.header
        return Caller(seller=seller, client_id=client_id, operation=operation, sandbox=sandbox, call=call)

    return dependency
