"""The FastAPI application factory."""

from __future__ import annotations

import gc
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import Settings
from ..services import Vault, open_vault, preload_phone_data
from ._deps import KnownKeys
from ._errors import install_error_handlers
from ._group_commit import GroupCommit
from ._hot import HotHandler, HotRoutes, header_of
from ._logging import AccessLog, configure_logging, looks_like_a_number, request_id_var
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

# The youngest generation is collected once allocations outrun frees by this many objects (CPython's
# default: 700). A batch of concurrent requests holds more than 700 new objects at once, so the default
# collected several times per batch: ~6% of an authorize's CPU in process, and 3-4% of its time.
# Cycles are still collected, just after more allocations.
_YOUNG_GENERATION_THRESHOLD = 20_000

_access_log = AccessLog()


def _request_id(incoming: bytes | None) -> str:
    """The client's X-Request-ID when it is a short alphanumeric token that is not shaped like a phone
    number (it goes into every log line of the request), else a new one."""
    if incoming and len(incoming) <= 64 and incoming.isalnum():
        text = incoming.decode("ascii")
        if not looks_like_a_number(text):
            return text
    return secrets.token_hex(8)


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
        request_id = _request_id(header_of(scope, b"x-request-id"))
        request_id_header = (b"x-request-id", request_id.encode("ascii"))
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), request_id_header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            _access_log.write(request_id, scope["method"], route, status, duration_ms)
            request_id_var.reset(token)


class DialvaultAPI(FastAPI):
    """FastAPI with the request context and the hot routes in front of its own middleware stack.

    Every request gets its request id and access-log line here; a hot route's well-formed request is then
    answered without FastAPI's per-request layers (error, telemetry and body-limit middleware, routing,
    dependencies), which cost as much CPU as an authorize. Everything else goes through FastAPI as usual.
    """

    def __init__(self, *, hot_routes: Mapping[tuple[str, str], HotHandler], **settings: Any) -> None:
        super().__init__(**settings)
        self._front = RequestContextMiddleware(HotRoutes(super().__call__, hot_routes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self  # as Starlette sets it: hot handlers find the vault in app.state
        await self._front(scope, receive, send)


def create_app(vault: Vault) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        preload_phone_data()
        # What exists once started (modules, phone metadata, compiled statements) lives as long as the
        # process: out of the collector's sight, full collections stop pausing requests to walk it.
        gc.collect()
        gc.freeze()
        thresholds = gc.get_threshold()
        gc.set_threshold(_YOUNG_GENERATION_THRESHOLD, *thresholds[1:])
        vault.database.start_checkpoints()
        try:
            yield
        finally:
            vault.database.stop_checkpoints()
            gc.set_threshold(*thresholds)

    app = DialvaultAPI(
        hot_routes={**dialing.hot_routes, **contacts.hot_routes},
        lifespan=lifespan,
        title="dialvault",
        version="0.1.0",
        description="Consent and PII vault for outbound calling",
    )
    app.state.vault = vault
    app.state.group_commit = GroupCommit(vault.database)
    app.state.known_keys = KnownKeys()
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
