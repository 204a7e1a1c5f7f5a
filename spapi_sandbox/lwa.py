"""Login with Amazon: the refresh-token grant at ``POST /auth/o2/token`` and the access tokens it issues.

Access tokens are self-contained (``Atza|<payload>.<hmac>``, keyed by the state's secret), so they survive a
restart; each call still checks that the seller exists, has not revoked the app and has not re-authorized
since (the grant generation), so revoking a seller kills all its access tokens at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .errors import INVALID_CLIENT_BODY, INVALID_GRANT_BODY

ACCESS_TOKEN_SECONDS = 3600
router = APIRouter()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class AccessTokens:
    def __init__(self, secret: bytes, time_scale: float):
        self._key = hashlib.sha256(b"access-token|" + secret).digest()
        self.time_scale = time_scale

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest()[:24])

    def issue(self, seller: dict, client_id: str) -> str:
        claims = {
            "s": seller["seller_id"],
            "g": seller["generation"],
            "c": client_id,
            "e": round(time.time() + ACCESS_TOKEN_SECONDS * self.time_scale, 3),
            "n": secrets.token_hex(6),
        }
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"Atza|{payload}.{self._sign(payload)}"

    def verify(self, token: str | None, state) -> tuple[dict, str] | None:
        """(seller, client_id) for a valid, unexpired, unrevoked token; None otherwise."""
        if not token or not token.startswith("Atza|") or "." not in token:
            return None
        payload, _, sig = token[5:].partition(".")
        if not hmac.compare_digest(sig, self._sign(payload)):
            return None
        try:
            claims = json.loads(_unb64(payload))
        except ValueError:
            return None
        seller = state.seller(claims["s"])
        if (
            seller is None
            or seller["revoked"]
            or seller["generation"] != claims["g"]
            or time.time() >= claims["e"]
        ):
            return None
        return seller, claims["c"]


@router.post("/auth/o2/token")
async def token(request: Request) -> JSONResponse:
    sandbox = request.app.state.sandbox
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
    client_ok = hmac.compare_digest(
        form.get("client_id", ""), sandbox.config.client_id
    ) and hmac.compare_digest(form.get("client_secret", ""), sandbox.config.client_secret)
    if not client_ok:
        return JSONResponse(INVALID_CLIENT_BODY, status_code=401)
    grant_type = form.get("grant_type")
    if grant_type != "refresh_token":
        return JSONResponse(
            {
                "error": "unsupported_grant_type",
                "error_description": "The authorization grant type is not supported by the "
                "authorization server",
            },
            status_code=400,
        )
    if not form.get("refresh_token"):
        return JSONResponse(
            {
                "error": "invalid_request",
                "error_description": "The request is missing a required parameter : refresh_token",
            },
            status_code=400,
        )
    seller = sandbox.state.seller_by_refresh_token(form["refresh_token"])
    if seller is None or seller["revoked"]:
        return JSONResponse(INVALID_GRANT_BODY, status_code=400)
    return JSONResponse(
        {
            "access_token": sandbox.tokens.issue(seller, form["client_id"]),
            "refresh_token": seller["refresh_token"],
            "token_type": "bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
        }
    )
