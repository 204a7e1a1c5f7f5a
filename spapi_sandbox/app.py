"""Builds the sandbox's ASGI application: Login with Amazon, the SP-API operations (Data Kiosk included) and the
admin API."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import admin, finances_api, inbound_api, inventory_api, lwa, transactions_api
from .config import SandboxConfig
from .context import Sandbox
from .data_kiosk import routes as data_kiosk_routes
from .errors import SpApiError
from .gate import GateRefusal
from .headers import AmazonHeadersMiddleware
from .reports import routes as report_routes


def create_app(config: SandboxConfig) -> FastAPI:
    app = FastAPI(title="Retkee SP-API sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sandbox = Sandbox.create(config)
    app.include_router(lwa.router)
    app.include_router(report_routes.router)
    app.include_router(data_kiosk_routes.router)
    app.include_router(finances_api.router)
    app.include_router(transactions_api.router)
    app.include_router(inventory_api.router)
    app.include_router(inbound_api.router)
    app.include_router(admin.router)
    app.add_middleware(AmazonHeadersMiddleware)

    @app.exception_handler(SpApiError)
    async def sp_api_error(request: Request, exc: SpApiError):
        return exc.response()

    @app.exception_handler(GateRefusal)
    async def gate_refusal(request: Request, exc: GateRefusal):
        return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        if request.url.path.startswith("/_sandbox/"):
            return JSONResponse({"detail": exc.errors()}, status_code=400)
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return SpApiError(400, "InvalidInput", "The request is invalid.", details).response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith("/_sandbox/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        code = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "InvalidInput")
        return SpApiError(exc.status_code, code, str(exc.detail)).response()

    return app
