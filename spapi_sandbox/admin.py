"""The sandbox's own admin API under ``/_sandbox/`` (not Amazon's): sellers, revocations, truth, faults,
call counts.

Enabled only when the server has an admin token; every call needs ``Authorization: Bearer <token>``.
``GET /_sandbox/health`` is open, so process supervisors can wait for readiness.
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from .context import Sandbox, sandbox_of
from .faults import FaultInputError
from .state import SellerInputError

router = APIRouter(prefix="/_sandbox")


def admin(request: Request) -> Sandbox:
    sandbox = sandbox_of(request)
    token = sandbox.config.admin_token
    if token is None:
        raise HTTPException(404, "The admin API is disabled: start the server with --admin-token-file.")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise HTTPException(
            401,
            "Admin API: send Authorization: Bearer <admin token>.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return sandbox


AdminSandbox = Annotated[Sandbox, Depends(admin)]


def _seller_out(seller: dict) -> dict:
    keys = ("seller_id", "refresh_token", "marketplace_ids", "profile", "revoked", "revoked_at", "generation")
    return {k: seller[k] for k in keys}


def _seller_or_404(sandbox: Sandbox, seller_id: str) -> dict:
    seller = sandbox.state.seller(seller_id)
    if seller is None:
        raise HTTPException(404, f"unknown seller {seller_id}")
    return seller


@router.get("/health")
def health(request: Request) -> dict:
    sandbox = sandbox_of(request)
    return {
        "status": "ok",
        "seed": sandbox.config.seed,
        "time_scale": sandbox.config.time_scale,
        "admin_api": sandbox.config.admin_token is not None,
    }


@router.post("/sellers")
def register_seller(body: Annotated[Any, Body()], sandbox: AdminSandbox):
    if not isinstance(body, dict):
        raise HTTPException(400, "body must be a JSON object")
    try:
        seller, created = sandbox.state.register_seller(
            body.get("seller_id"), body.get("marketplace_ids") or [], body.get("profile")
        )
    except SellerInputError as exc:
        raise HTTPException(400, str(exc)) from None
    return JSONResponse(_seller_out(seller), status_code=201 if created else 200)


@router.get("/sellers")
def list_sellers(sandbox: AdminSandbox) -> dict:
    return {"sellers": [_seller_out(s) for s in sandbox.state.sellers()]}


@router.get("/sellers/{seller_id}")
def get_seller(seller_id: str, sandbox: AdminSandbox) -> dict:
    return _seller_out(_seller_or_404(sandbox, seller_id))


@router.post("/sellers/{seller_id}/revoke")
def revoke_seller(seller_id: str, sandbox: AdminSandbox) -> dict:
    _seller_or_404(sandbox, seller_id)
    return _seller_out(sandbox.state.revoke(seller_id))


@router.post("/sellers/{seller_id}/reauthorize")
def reauthorize_seller(seller_id: str, sandbox: AdminSandbox) -> dict:
    _seller_or_404(sandbox, seller_id)
    return _seller_out(sandbox.state.reauthorize(seller_id))


@router.post("/sellers/{seller_id}/restate-traffic")
def restate_traffic(seller_id: str, body: Annotated[Any, Body()], sandbox: AdminSandbox) -> dict:
    """Amazon restates a day's sales and traffic within 72 hours: draw the day's traffic in one marketplace
    anew (body: {"marketplace_id": ..., "day": "YYYY-MM-DD"}); reports and queries made afterwards show it."""
    seller = _seller_or_404(sandbox, seller_id)
    if not isinstance(body, dict):
        raise HTTPException(400, "body must be a JSON object")
    marketplace_id, day = body.get("marketplace_id"), body.get("day")
    if marketplace_id not in seller["marketplace_ids"]:
        raise HTTPException(400, f"the seller does not sell in marketplace {marketplace_id!r}")
    try:
        dt.date.fromisoformat(str(day))
    except ValueError:
        raise HTTPException(400, f"day must be YYYY-MM-DD, got {day!r}") from None
    sandbox.state.restate_traffic(seller_id, marketplace_id, str(day))
    return {"seller_id": seller_id, "marketplace_id": marketplace_id, "day": str(day), "restated": True}


@router.get("/sellers/{seller_id}/truth/orders")
def truth_orders(
    seller_id: str,
    start: dt.date,
    end: dt.date,
    sandbox: AdminSandbox,
    marketplace_ids: Annotated[str | None, Query(description="comma-separated")] = None,
) -> dict:
    _seller_or_404(sandbox, seller_id)
    if end < start:
        raise HTTPException(400, "end must not be before start")
    mkts = marketplace_ids.split(",") if marketplace_ids else None
    summary = sandbox.state.world().order_summary(seller_id, start, end, mkts)
    return {**summary, "range": "[start, end) in UTC; end is exclusive"}


@router.get("/sellers/{seller_id}/truth/money")
def truth_money(
    seller_id: str,
    start: dt.date,
    end: dt.date,
    sandbox: AdminSandbox,
    marketplace_ids: Annotated[str | None, Query(description="comma-separated")] = None,
) -> dict:
    """The money world's truth over [start, end): for the sandbox's own tests, never for a pipeline's numbers
    (those are recomputed from the raw API answers)."""
    _seller_or_404(sandbox, seller_id)
    if end < start:
        raise HTTPException(400, "end must not be before start")
    if (end - start).days > 62:
        raise HTTPException(400, "at most 62 days at a time")
    mkts = marketplace_ids.split(",") if marketplace_ids else None
    summary = sandbox.state.world().money_summary(seller_id, start, end, mkts)
    return {**summary, "range": "[start, end) in UTC by posting; end is exclusive"}


@router.get("/calls")
def call_counts(sandbox: AdminSandbox, seller_id: str | None = None) -> dict:
    """Read-only: the SP-API calls answered so far per seller and operation (admitted, throttled, faulted),
    with the clock they ran on, so a reader can turn them into the time Amazon's usage plans require."""
    return {
        "calls": sandbox.calls.rows(seller_id),
        "time_scale": sandbox.config.time_scale,
        "report_processing_seconds": sandbox.config.report_processing_seconds,
    }


@router.post("/faults", status_code=201)
def add_fault(body: Annotated[Any, Body()], sandbox: AdminSandbox) -> dict:
    if not isinstance(body, dict):
        raise HTTPException(400, "body must be a JSON object")
    try:
        return sandbox.faults.add(body).to_dict()
    except (FaultInputError, ValueError, TypeError) as exc:
        raise HTTPException(400, str(exc)) from None


@router.get("/faults")
def list_faults(sandbox: AdminSandbox) -> dict:
    return {"faults": sandbox.faults.list()}


@router.delete("/faults")
def clear_faults(sandbox: AdminSandbox) -> dict:
    return {"removed": sandbox.faults.remove()}


@router.delete("/faults/{fault_id}")
def remove_fault(fault_id: str, sandbox: AdminSandbox) -> dict:
    removed = sandbox.faults.remove(fault_id)
    if not removed:
        raise HTTPException(404, f"unknown fault {fault_id}")
    return {"removed": removed}
