"""The FastAPI application factory."""

from __future__ import annotations

import logging
import secrets
import time

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class RequestContextMiddleware:
    """Request id (taken from X-Request-ID when alphanumeric, else new) and one access-log line.

    Plain ASGI rather than `@app.middleware("http")`, whose call_next machinery cost more per request
    than the bare endpoint itself.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isalnum() else secrets.token_hex(8)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("x-request-id", request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            _access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "route": getattr(route, "path", "unmatched"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id_var.reset(token)


def create_app(vault: Vault) -> FastAPI:
    app = FastAPI(
        title="dialvault",
        version="0.1.0",
        description="Consent and PII vault for outbound calling",
    )
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

    app.add_middleware(RequestContextMiddleware)
    return app


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory` and multi-worker serving: settings come from the environment."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(open_vault(settings))
