"""The server's HTTP protocol: a response leaves in one write, and nothing is lost or held back."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send
from uvicorn.server import ServerState

from tests.servers import free_port
from vault.api import HTTP_PROTOCOL
from vault.api._http import CorkedHttpToolsProtocol

_REQUEST = b"GET /ok HTTP/1.1\r\nHost: test\r\n\r\n"


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"first;", "more_body": True})
        await asyncio.sleep(0.3)
        await send({"type": "http.response.body", "body": b"second", "more_body": False})
        return
    body = b'{"status":"ok"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _RecordingTransport(asyncio.Transport):
    """The socket's side of a connection: what the protocol wrote, call by call."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _served_writes(request: bytes) -> list[bytes]:
    protocol, transport = await _connected()
    protocol.data_received(request)
    for _ in range(100):
        await asyncio.sleep(0)
        if transport.writes:
            break
    await asyncio.sleep(0)
    protocol.connection_lost(None)
    return transport.writes


def test_a_response_head_and_body_leave_in_one_write() -> None:
    writes = asyncio.run(_served_writes(_REQUEST))
    assert len(writes) == 1
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert writes[0].endswith(b'\r\n\r\n{"status":"ok"}')


async def _connected() -> tuple[CorkedHttpToolsProtocol, _RecordingTransport]:
    config = uvicorn.Config(_app, http=HTTP_PROTOCOL, log_config=None, lifespan="off")
    config.load()
    protocol = CorkedHttpToolsProtocol(config, ServerState(), {}, _loop=asyncio.get_running_loop())
    socket_side = _RecordingTransport()
    protocol.connection_made(socket_side)
    return protocol, socket_side


def test_a_write_leaves_with_the_next_one_at_once_without_waiting_for_the_loop() -> None:
    async def scenario() -> list[bytes]:
        protocol, socket_side = await _connected()
        protocol.transport.write(b"head;")
        assert socket_side.writes == []
        protocol.transport.write(b"body")
        return socket_side.writes

    assert asyncio.run(scenario()) == [b"head;body"]


def test_a_lone_write_leaves_at_the_end_of_the_loops_turn() -> None:
    async def scenario() -> list[bytes]:
        protocol, socket_side = await _connected()
        protocol.transport.write(b"head;")
        await asyncio.sleep(0)
        return socket_side.writes

    assert asyncio.run(scenario()) == [b"head;"]


def test_closing_sends_a_held_write_first() -> None:
    async def scenario() -> tuple[list[bytes], bool]:
        protocol, socket_side = await _connected()
        protocol.transport.write(b"last")
        protocol.transport.close()
        return socket_side.writes, socket_side.closed

    assert asyncio.run(scenario()) == ([b"last"], True)


@contextlib.contextmanager
def _server() -> Iterator[int]:
    port = free_port()
    config = uvicorn.Config(_app, host="127.0.0.1", port=port, http=HTTP_PROTOCOL, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


def _read_until(conn: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with _server() as served:
        yield served


def test_a_kept_alive_connection_gets_each_of_its_responses_whole(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        for _ in range(3):
            conn.sendall(_REQUEST)
            assert _read_until(conn, b'{"status":"ok"}').startswith(b"HTTP/1.1 200 OK")


def test_a_response_on_a_closing_connection_is_sent_whole_before_the_close(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"GET /ok HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        received = _read_until(conn, b"\0")  # to the end of the stream
    assert received.startswith(b"HTTP/1.1 200 OK")
    assert received.endswith(b'{"status":"ok"}')


def test_a_streamed_body_part_leaves_before_the_next_is_ready(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"GET /stream HTTP/1.1\r\nHost: test\r\n\r\n")
        started = time.monotonic()
        first = _read_until(conn, b"first;")
        waited = time.monotonic() - started
        rest = _read_until(conn, b"second")
    assert b"first;" in first and b"second" not in first
    assert waited < 0.25  # the app sends the second part 0.3 s after the first
    assert b"second" in rest
