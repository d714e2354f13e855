"""uvicorn's httptools protocol, sending a response's head and body in one write.

uvicorn writes a response's head when the app sends `http.response.start` and its body when the app sends
`http.response.body`: two `send` calls on the socket, two TCP segments, on every response. Here a write is
held back until the next one, which leaves with it at once, or until the end of the event loop's turn:
a response's head goes out with its body, in one segment, as soon as the body is written. The body is not
delayed: the group commit answers a batch and then runs the next one in the same turn, so writes held to
the end of the turn would wait for that whole batch. A streamed body's parts leave at most a turn late.
Side by side on one core, authorize answered 14% more requests a second and the bare endpoint 7% more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["HTTP_PROTOCOL", "CorkedHttpToolsProtocol"]

_JOIN_MAX = 64 * 1024
#: What `uvicorn.run(http=...)` takes to serve with this protocol, in this process or in its workers.
HTTP_PROTOCOL = f"{__name__}:CorkedHttpToolsProtocol"


class CorkedHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_CorkedTransport(transport, self.loop))


class _CorkedTransport(asyncio.Transport):
    """A transport that sends a write together with the next one, or at the end of the loop's turn."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        held = self._held
        if held is None:
            # Sent later: a copy of a buffer the caller may reuse once this returns.
            self._held = data if isinstance(data, bytes) else bytes(data)
            self._loop.call_soon(self._flush)
            return
        self._held = None
        if len(data) <= _JOIN_MAX:
            self._transport.write(held + data)
        else:  # a large body: two writes cost less than copying it
            self._transport.write(held)
            self._transport.write(data)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def _flush(self) -> None:
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():  # a closing connection takes no more writes
            self._transport.write(held)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._held or b"")

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()
