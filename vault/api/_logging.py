"""Structured JSON logs with request ids; a filter redacts anything shaped like a phone number."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import threading
import time
from datetime import UTC, datetime
from typing import TextIO

__all__ = [
    "AccessLog",
    "BufferedLineHandler",
    "JsonFormatter",
    "RedactingFilter",
    "configure_logging",
    "looks_like_a_number",
    "redact",
    "request_id_var",
]

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_NUMBER_LIKE = re.compile(r"\+?\d(?:[\s\-.()]?\d){6,}")


def redact(text: str) -> str:
    return _NUMBER_LIKE.sub("[redacted]", text)


def looks_like_a_number(text: str) -> bool:
    return _NUMBER_LIKE.search(text) is not None


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


def _timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, object] = {
            "ts": _timestamp(record.created),
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


class BufferedLineHandler(logging.StreamHandler[TextIO]):
    """A stream handler that writes its lines in batches: at most `interval` seconds late, at once from
    WARNING up, and on close (logging's exit hook). A write and a flush per line cost a server as much
    as a small request."""

    def __init__(self, stream: TextIO | None = None, interval: float = 0.2, most: int = 256) -> None:
        super().__init__(stream)
        self._lines: list[str] = []
        self._most = most
        self._stopping = threading.Event()
        self._flusher = threading.Thread(target=self._flush_every, args=(interval,), name="dialvault-log", daemon=True)
        self._flusher.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.write_line(line, urgent=record.levelno >= logging.WARNING)

    def write_line(self, line: str, urgent: bool = False) -> None:
        """Queue one formatted line (no newline)."""
        with self.lock:  # type: ignore[union-attr]  # created by Handler.__init__
            self._lines.append(line)
            if urgent or len(self._lines) >= self._most:
                self._write_out()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write_out()

    def close(self) -> None:
        self._stopping.set()
        self.flush()
        super().close()

    def _write_out(self) -> None:
        if self._lines:
            text = "\n".join(self._lines) + "\n"
            self._lines.clear()
            self.stream.write(text)
        if self.stream and hasattr(self.stream, "flush"):
            self.stream.flush()

    def _flush_every(self, interval: float) -> None:
        while not self._stopping.wait(interval):
            try:
                self.flush()
            except Exception:  # a closed or broken stream: nothing more to write to
                return


class AccessLog:
    """One line per request on the `dialvault.access` logger.

    When that logger's lines go only to a BufferedLineHandler with the JsonFormatter (what
    `configure_logging` installs: the server's normal state), the line is written straight to it, as
    JsonFormatter would have written the record: making a LogRecord and passing it through the logging
    machinery cost about as much as uvicorn's own handling of a request. With any other configuration
    (a test's capture, an application's own handlers) it is an ordinary log record.
    """

    def __init__(self) -> None:
        self.logger = logging.getLogger("dialvault.access")
        self._second = -1
        self._second_text = ""
        self._quoted: dict[str, str] = {}

    def write(self, request_id: str, method: str, route: str, status: int, duration_ms: float) -> None:
        logger = self.logger
        if not logger.isEnabledFor(logging.INFO):
            return
        root = logging.root
        handler = root.handlers[0] if len(root.handlers) == 1 else None
        if (
            not isinstance(handler, BufferedLineHandler)
            or type(handler.formatter) is not JsonFormatter
            or handler.level > logging.INFO
            or logger.handlers
            or not logger.propagate
            or logger.parent is not root
        ):
            extra = {"request_id": request_id, "method": method, "route": route, "status": status}
            logger.info("request", extra={**extra, "duration_ms": duration_ms})
            return
        # Request ids are alphanumeric (checked on the way in): no escaping needed.
        handler.write_line(
            f'{{"ts": "{self._ts()}", "level": "INFO", "logger": "dialvault.access", "msg": "request", '
            f'"request_id": "{request_id}", "method": {self._quote(method)}, "route": {self._quote(route)}, '
            f'"status": {status}, "duration_ms": {duration_ms!r}}}'
        )

    def _ts(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second, self._second_text = second, _timestamp(second)[:-10]
        return f"{self._second_text}.{int((now - second) * 1000):03d}+00:00"

    def _quote(self, text: str) -> str:
        quoted = self._quoted.get(text)
        if quoted is None:
            quoted = _encode_json(text)
            if len(self._quoted) < 1024:  # routes and methods: a small set, unless a client invents methods
                self._quoted[text] = quoted
        return quoted


def configure_logging(level: str = "INFO", json_format: bool = True) -> None:
    # No formatter here prints the caller's file and line, thread or process: skip collecting them
    # for every record (the logging HOWTO's "Optimization" switches; the access log writes a line per request).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = BufferedLineHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if json_format else logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    for previous in root.handlers:
        if isinstance(previous, BufferedLineHandler):
            previous.close()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
