"""One error envelope for every failure: {"error": {"code", "message", "field"?}}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import DialvaultError
from ..storage import DatabaseUnavailable

__all__ = ["error_body", "error_response", "install_error_handlers"]

_log = logging.getLogger("dialvault.api")


def error_body(code: str, message: str, field: str | None = None) -> dict[str, dict[str, str]]:
    error = {"code": code, "message": message}
    if field:
        error["field"] = field
    return {"error": error}


def _field_of(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def error_response(exc: Exception) -> JSONResponse:
    """The envelope for an error raised while serving: the domain's code, 503 for the store, else 500."""
    if isinstance(exc, DialvaultError):
        return JSONResponse(error_body(exc.code, exc.message, exc.field), status_code=exc.status)
    if isinstance(exc, DatabaseUnavailable):
        return JSONResponse(error_body("database_unavailable", "the store is unavailable; try again"), status_code=503)
    _log.error("unhandled error", exc_info=exc)
    return JSONResponse(error_body("internal_error", "internal error"), status_code=500)


async def _on_error(_request: Request, exc: Exception) -> JSONResponse:
    return error_response(exc)


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": ("body",), "msg": "invalid request"}
    field = _field_of(tuple(first.get("loc", ("body",))))
    # Only pydantic's message: never its "input", which could be a phone number.
    message = f"{field}: {first.get('msg', 'invalid value')}"
    return JSONResponse(error_body("invalid_request", message, field), status_code=422)


async def _on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DialvaultError, _on_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(DatabaseUnavailable, _on_error)
    app.add_exception_handler(Exception, _on_error)
