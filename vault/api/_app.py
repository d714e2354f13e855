"""The FastAPI application factory."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from ..config import Settings
from ..services import Vault, open_vault
from ._errors import install_error_handlers
from ._logging import configure_logging, request_id_var
from .routes import (
    audit,
    caller_lines,
    campaigns,
    complaints,
    consents,
    contacts,
    dialing,
    health,
    keys,
    requests,
    suppressions,
)

__all__ = ["app_from_environment", "create_app"]

_access_log = logging.getLogger("dialvault.access")


def create_app(vault: Vault) -> FastAPI:
    app = FastAPI(title="dialvault", version="0.1.0", description="Consent and PII vault for outbound calling")
    app.state.vault = vault
    install_error_handlers(app)
    for module in (
        health,
        contacts,
        audit,
        keys,
        consents,
        suppressions,
        complaints,
        requests,
        caller_lines,
        campaigns,
        dialing,
    ):
        app.include_router(module.router)

    @app.middleware("http")
    async def request_context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        incoming = request.headers.get("x-request-id", "")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isalnum() else secrets.token_hex(8)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = await call_next(request)
            response.headers["x-request-id"] = request_id
            route = request.scope.get("route")
            _access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": request.method,
                    "route": getattr(route, "path", "unmatched"),
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            return response
        finally:
            request_id_var.reset(token)

    return app


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory` and multi-worker serving: settings come from the environment."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(open_vault(settings))
