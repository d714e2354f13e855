"""Hot routes: well-formed requests to the gateway's and dialers' busiest routes, served below FastAPI.

FastAPI's request handling (routing, dependency solving, body model, response model) cost about as much
CPU as an authorize itself. A hot handler gets the raw body of a request to its exact method and path,
and either answers it or returns None; a request it does not answer (a body it does not recognise as
well formed, a content type other than JSON, a large body) goes on to the FastAPI route of the same path,
which stays the route's definition: its validation errors, its OpenAPI entry, its role declaration.
Errors a hot handler raises get the same envelope as the routes' (`error_response`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._errors import error_response
from ._routing import NUL_ESCAPE

__all__ = ["HotAnswer", "HotHandler", "HotRoutes", "header_of", "json_answer", "json_object_of"]

#: (status, JSON body) of a hot handler's response.
HotAnswer = tuple[int, bytes]
#: (scope, body) → the response, or None to pass the request on to its FastAPI route.
HotHandler = Callable[[Scope, bytes], Awaitable[HotAnswer | None]]

_MAX_HOT_BODY = 4096  # by Content-Length: a hot body is a few hundred bytes; larger ones take the general path
_JSON_HEADERS = [(b"content-type", b"application/json")]


class _HotRoute(NamedTuple):
    """What `scope["route"]` holds for a request a hot handler took (the access log reads its path)."""

    path: str


# One encoder for every answer: `json.dumps` with options builds a new one per call.
_encode_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def json_answer(status: int, content: Any) -> HotAnswer:
    return status, _encode_json(content).encode("utf-8")


def header_of(scope: Scope, name: bytes) -> bytes | None:
    """A request header's raw value (`name` in lower case, as ASGI gives it)."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def json_object_of(scope: Scope, body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object when the request says it is JSON and it parses; else None."""
    content_type = header_of(scope, b"content-type")
    if content_type is None or content_type.split(b";", 1)[0].strip().lower() != b"application/json":
        return None
    if NUL_ESCAPE in body:  # the route refuses it, naming the field
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


class HotRoutes:
    """ASGI middleware dispatching (method, path) to a hot handler before FastAPI's router sees it."""

    def __init__(self, app: ASGIApp, routes: Mapping[tuple[str, str], HotHandler]) -> None:
        self.app = app
        self.routes = dict(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.routes.get((scope.get("method", ""), scope.get("path", ""))) if scope["type"] == "http" else None
        if handler is None or not _small_body(scope):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:  # the client went away before its request was complete
            return
        scope["route"] = _HotRoute(scope["path"])
        try:
            answer = await handler(scope, body)
        except Exception as exc:
            response = error_response(exc)
            await response(scope, _replay(body, receive), send)
            return
        if answer is None:
            del scope["route"]
            await self.app(scope, _replay(body, receive), send)
            return
        status, payload = answer
        headers = [*_JSON_HEADERS, (b"content-length", str(len(payload)).encode("ascii"))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def _small_body(scope: Scope) -> bool:
    length = header_of(scope, b"content-length")
    return length is not None and length.isdigit() and int(length) <= _MAX_HOT_BODY


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body (at most its Content-Length, which the server enforces); None if the client left."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that first gives back the body already read, then hands over to the real one."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
