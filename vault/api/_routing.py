"""The route class of every API route: request bodies are refused if a string in them holds a NUL character."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from ._errors import error_body

__all__ = ["NUL_ESCAPE", "TextRoute", "nul_field"]

#: How JSON writes a NUL character (it has no other way: raw control characters are invalid JSON).
NUL_ESCAPE = b"\\u0000"


def _nul_path(value: Any, path: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """Where in a parsed JSON value a string (or an object key) holds a NUL character, if anywhere."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return (*path, key.replace("\x00", ""))
            found = _nul_path(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, (*path, str(index)))
            if found is not None:
                return found
    return None


def nul_field(body: bytes) -> str | None:
    """The dotted path of the first string of a JSON body holding a NUL character ("body" for the top), or None."""
    if NUL_ESCAPE not in body:  # the common case, in one C scan; a match may still be an escaped backslash
        return None
    try:
        path = _nul_path(json.loads(body))
    except ValueError:
        return None  # not JSON: the route's own parsing refuses it
    return None if path is None else ".".join(path) or "body"


class TextRoute(APIRoute):
    """PostgreSQL cannot keep a NUL character in text, and no field of this API means one: a body with one
    is refused as 422 `invalid_text`, naming the field, on every store alike (before, PostgreSQL failed
    with a 500 and SQLite stored it)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def refusing_nul(request: Request) -> Response:
            field = nul_field(await request.body())
            if field is not None:
                message = f"{field}: text may not contain a NUL character"
                return JSONResponse(error_body("invalid_text", message, field), status_code=422)
            return await handle(request)

        return refusing_nul
