"""Log lines: the access log's direct path writes what the logging machinery would, lines are batched,
and request ids never carry a number."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from vault.api._logging import AccessLog, BufferedLineHandler, JsonFormatter, RedactingFilter


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[BufferedLineHandler, io.StringIO]]:
    stream = io.StringIO()
    line_handler = BufferedLineHandler(stream, interval=3600)
    line_handler.addFilter(RedactingFilter())
    line_handler.setFormatter(JsonFormatter())
    monkeypatch.setattr(logging.root, "handlers", [line_handler])
    monkeypatch.setattr(logging.root, "level", logging.INFO)
    yield line_handler, stream
    line_handler.close()


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_direct_access_line_has_the_fields_and_order_of_a_formatted_record(
    handler: tuple[BufferedLineHandler, io.StringIO],
) -> None:
    line_handler, stream = handler
    AccessLog().write("abc123", "POST", "/v1/dial/authorize", 200, 1.25)
    line_handler.flush()
    (direct,) = stream.getvalue().splitlines()
    record = logging.LogRecord("dialvault.access", logging.INFO, __file__, 1, "request", None, None)
    extra = {"request_id": "abc123", "method": "POST", "route": "/v1/dial/authorize", "status": 200}
    record.__dict__.update(extra, duration_ms=1.25)
    formatted = JsonFormatter().format(record)
    assert _without_ts(direct) == _without_ts(formatted)
    assert json.loads(direct)["ts"].endswith("+00:00")


def _without_ts(line: str) -> str:
    return line.split(", ", 1)[1]


def test_access_line_is_an_ordinary_record_under_another_logging_configuration(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="dialvault.access"):
        AccessLog().write("abc123", "GET", "/healthz", 200, 0.5)
    (record,) = [r for r in caplog.records if r.name == "dialvault.access"]
    assert (record.route, record.status) == ("/healthz", 200)  # type: ignore[attr-defined]


def test_info_lines_wait_for_the_flush_and_warnings_go_out_at_once(
    handler: tuple[BufferedLineHandler, io.StringIO],
) -> None:
    _, stream = handler
    logging.getLogger("dialvault.test").info("first")
    assert stream.getvalue() == ""
    logging.getLogger("dialvault.test").warning("second")
    assert [line["msg"] for line in _lines(stream)] == ["first", "second"]


def test_closing_the_handler_writes_what_it_holds(handler: tuple[BufferedLineHandler, io.StringIO]) -> None:
    line_handler, stream = handler
    logging.getLogger("dialvault.test").info("held")
    line_handler.close()
    assert [line["msg"] for line in _lines(stream)] == ["held"]


def test_a_request_id_shaped_like_a_phone_number_is_replaced(client: TestClient) -> None:
    response = client.get("/healthz", headers={"x-request-id": "8613800138000"})
    assert response.headers["x-request-id"] != "8613800138000"


def test_an_alphanumeric_request_id_is_kept(client: TestClient) -> None:
    response = client.get("/healthz", headers={"x-request-id": "order42batch7"})
    assert response.headers["x-request-id"] == "order42batch7"
