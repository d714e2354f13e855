"""The FastAPI application factory."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import Settings
from ..services import Vault, open_vault
from ._errors import install_error_handlers
from ._group_commit import GroupCommit
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
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        vault.database.start_checkpoints()
        try:
            yield
        finally:
            vault.database.stop_checkpoints()

    app = FastAPI(
        lifespan=lifespan,
        title="dialvault",
        version="0.1.0",
        description="Consent and PII vault for outbound calling",
    )
    app.state.vault = vault
    app.state.group_commit = GroupCommit(vault.database)
    install_error_handlers(app)
    # Routes are matched in the order they are included, each miss costing a few microseconds:
    # the gateway's and the dialers' routes come first.
    for module in (
        dialing,
        campaigns,
        consents,
        contacts,
        health,
        audit,
        keys,
        suppressions,
        complaints,
        requests,
        caller_lines,
    ):
        app.include_router(module.router)

    app.add_middleware(RequestContextMiddleware)
    _document_api_keys(app)
    return app


def _document_api_keys(app: FastAPI) -> None:
    """Put the bearer API key and each route's roles in the OpenAPI document.

    `require_roles` reads the Authorization header itself (declaring it per route cost a parameter
    resolution per request), so the scheme is added here, to exactly the routes that check a key."""
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = default_openapi()
        schema.setdefault("components", {})["securitySchemes"] = {
            "apiKey": {"type": "http", "scheme": "bearer", "description": "A dialvault API key (one tenant, one role)."}
        }
        for route in app.routes:
            if not isinstance(route, APIRoute):
                continue
            roles = [getattr(d.call, "allowed_roles", None) for d in route.dependant.dependencies]
            allowed = next((r for r in roles if r is not None), None)
            if allowed is None:
                continue
            for method in route.methods or ():
                operation = schema["paths"][route.path_format][method.lower()]
                operation["security"] = [{"apiKey": []}]
                operation["x-roles"] = sorted(role.value for role in allowed)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory` and multi-worker serving: settings come from the environment."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(open_vault(settings))
