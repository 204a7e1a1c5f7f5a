"""Amazon's error bodies, byte for byte as the reference gives them, and the exception that carries them."""

from __future__ import annotations

from fastapi.responses import JSONResponse

UNAUTHORIZED_BODY = {
    "errors": [
        {
            "code": "Unauthorized",
            "message": "Access to requested resource is denied.",
            "details": "The access token you provided is revoked, malformed or invalid.",
        }
    ]
}
QUOTA_EXCEEDED_BODY = {
    "errors": [
        {
            "code": "QuotaExceeded",
            "message": "You exceeded your quota for the requested resource.",
            "details": "",
        }
    ]
}
INVALID_GRANT_BODY = {
    "error": "invalid_grant",
    "error_description": "The request has an invalid grant parameter : refresh_token. "
    "User may have revoked or didn't grant the permission.",
}
INVALID_CLIENT_BODY = {"error": "invalid_client", "error_description": "Client authentication failed"}


class SpApiError(Exception):
    """An SP-API error answer: ``{"errors": [{"code", "message", "details"}]}`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, details: str = ""):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details

    def body(self) -> dict:
        return {"errors": [{"code": self.code, "message": self.message, "details": self.details}]}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status)


def invalid_input(message: str, details: str = "") -> SpApiError:
    return SpApiError(400, "InvalidInput", message, details)


def not_found(message: str) -> SpApiError:
    return SpApiError(404, "NotFound", message)


def unauthorized() -> JSONResponse:
    return JSONResponse(UNAUTHORIZED_BODY, status_code=403)


def quota_exceeded() -> JSONResponse:
    return JSONResponse(QUOTA_EXCEEDED_BODY, status_code=429)
