"""Structured JSON logs with request ids; a filter redacts anything shaped like a phone number."""

from __future__ import annotations

import contextvars
import json
import logging
import re
from datetime import UTC, datetime

__all__ = ["JsonFormatter", "RedactingFilter", "configure_logging", "redact", "request_id_var"]

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_NUMBER_LIKE = re.compile(r"\+?\d(?:[\s\-.()]?\d){6,}")


def redact(text: str) -> str:
    return _NUMBER_LIKE.sub("[redacted]", text)


class RedactingFilter(logging.Filter):
    """Defence in depth: code never logs numbers, and this catches what slips through."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.exc_text = f"{type(exc).__name__}: {redact(str(exc))}"
            record.exc_info = None
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


# One encoder for every line: `json.dumps` with options builds a new encoder per call.
_encode_json = json.JSONEncoder(ensure_ascii=False).encode


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key in ("method", "route", "status", "duration_ms", "code"):
            if hasattr(record, key):
                body[key] = getattr(record, key)
        if record.exc_text:
            body["error"] = record.exc_text
        return _encode_json(body)


def configure_logging(level: str = "INFO", json_format: bool = True) -> None:
    # No formatter here prints the caller's file and line, thread or process: skip collecting them
    # for every record (the logging HOWTO's "Optimization" switches; the access log writes a line per request).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if json_format else logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
