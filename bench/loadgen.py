"""HTTP/1.1 keep-alive load generator: raw non-blocking sockets, one process, one core.

Run as a child process (`python -m bench.loadgen SPEC.json`) pinned to its own core, so the
server under test and the generator never share a CPU. Requests are pre-built bytes read from
a file (distinct bodies per request when the benchmark needs them: new numbers, fresh
handles); the generator only writes them, reads the answers and times them.

Two modes:
- closed loop: `connections` keep-alive connections, each sends its next request as soon as
  the previous answer is complete (throughput + latency under saturation);
- fixed rate: requests are scheduled at `rate` per second; latency is measured from the
  scheduled send time, so a stalled server cannot hide its queueing (no coordinated omission).

The generator reports its own CPU time per request: `1e6 / cpu_us_per_request` is the rate it
could drive with a whole core to itself, its ceiling.
"""

from __future__ import annotations

import collections
import json
import os
import resource
import selectors
import socket
import struct
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["LoadResult", "percentile", "read_requests", "run_load", "write_requests"]

_HEADER_END = b"\r\n\r\n"
_LEN = struct.Struct(">I")


@dataclass
class LoadResult:
    mode: str
    connections: int
    duration_s: float
    requests: int
    errors: int
    statuses: dict[str, int]
    expect_hits: int
    rate_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    cpu_s: float
    cpu_us_per_request: float
    ceiling_per_s: float
    target_rate: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return float(sorted_values[index])


def write_requests(path: Path, requests: Sequence[bytes]) -> None:
    with path.open("wb") as out:
        for request in requests:
            out.write(_LEN.pack(len(request)))
            out.write(request)


def read_requests(path: Path) -> list[bytes]:
    data = path.read_bytes()
    out: list[bytes] = []
    offset = 0
    while offset < len(data):
        (size,) = _LEN.unpack_from(data, offset)
        offset += _LEN.size
        out.append(data[offset : offset + size])
        offset += size
    return out


class _Conn:
    __slots__ = ("buf", "need", "sent_at", "sock", "status")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        self.need = -1
        self.sent_at = 0.0
        self.status = b""


def _connect(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    return sock


def _response_complete(conn: _Conn) -> bool:
    """True when `conn.buf` holds one whole response (Content-Length or chunked framing)."""
    if conn.need == 0:
        return conn.buf.endswith(b"0\r\n\r\n")
    if conn.need < 0:
        end = conn.buf.find(_HEADER_END)
        if end < 0:
            return False
        head = conn.buf[:end]
        conn.status = head[9:12]
        lower = head.lower()
        at = lower.find(b"content-length:")
        if at < 0:
            if b"transfer-encoding: chunked" not in lower:
                raise RuntimeError("response with neither Content-Length nor chunked encoding")
            conn.need = 0  # chunked: complete at the last-chunk marker (no trailers)
            return conn.buf.endswith(b"0\r\n\r\n")
        stop = lower.find(b"\r\n", at)
        length = int(lower[at + 15 : stop if stop >= 0 else len(lower)])
        conn.need = end + 4 + length
    return len(conn.buf) >= conn.need


def run_load(
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    connections: int,
    duration: float,
    warmup: float = 1.0,
    rate: float | None = None,
    expect: bytes | None = None,
    max_requests: int | None = None,
) -> LoadResult:
    """Drive the server; returns throughput and latency of the measured window (after warm-up)."""
    if not requests:
        raise ValueError("no requests to send")
    selector = selectors.DefaultSelector()
    conns = [_Conn(_connect(host, port)) for _ in range(connections)]
    idle: collections.deque[_Conn] = collections.deque()  # FIFO: every connection stays in use
    latencies: list[float] = []
    statuses: dict[bytes, int] = {}
    hits = 0
    next_index = 0
    total = len(requests)
    started = time.perf_counter()
    measure_from = started + warmup
    stop_at = measure_from + duration
    measured = 0
    in_flight = 0
    interval = 1.0 / rate if rate else 0.0
    next_send = started
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    stopping = False
    sent_total = 0

    def send(conn: _Conn, scheduled: float) -> None:
        nonlocal next_index, in_flight, sent_total
        request = requests[next_index % total]
        next_index += 1
        sent_total += 1
        conn.buf = b""
        conn.need = -1
        conn.sent_at = scheduled
        if len(request) > 32768:  # a large batch body may not fit the socket buffer at once
            conn.sock.setblocking(True)
            conn.sock.sendall(request)
            conn.sock.setblocking(False)
        else:
            conn.sock.sendall(request)
        in_flight += 1

    for conn in conns:
        selector.register(conn.sock, selectors.EVENT_READ, conn)
        if rate:
            idle.append(conn)
        else:
            send(conn, time.perf_counter())

    while True:
        now = time.perf_counter()
        if now >= stop_at or (max_requests is not None and sent_total >= max_requests and not rate):
            stopping = True
        if stopping and in_flight == 0:
            break
        if stopping and now > stop_at + 10.0:
            break  # answers that never come: give up, count them as errors below
        if rate and not stopping:
            while idle and next_send <= now:
                send(idle.popleft(), next_send)
                next_send += interval
            timeout = max(0.0, min(next_send, stop_at) - time.perf_counter())
        else:
            timeout = 0.5 if stopping else max(0.0, stop_at - now)
        for key, _ in selector.select(timeout):
            conn = key.data
            chunk = conn.sock.recv(262144)
            if not chunk:
                if conn in idle:  # the server's keep-alive timeout closed an unused connection: reopen it
                    selector.unregister(conn.sock)
                    conn.sock.close()
                    conn.sock = _connect(host, port)
                    selector.register(conn.sock, selectors.EVENT_READ, conn)
                    continue
                raise RuntimeError(f"the server closed a keep-alive connection: {conn.buf[:300]!r}")
            conn.buf += chunk
            if not _response_complete(conn):
                continue
            done = time.perf_counter()
            in_flight -= 1
            # Closed loop: answers completed inside the window (as wrk counts). Fixed rate: every
            # request scheduled inside the window, however late its answer (a slow answer must count).
            if (conn.sent_at >= measure_from) if rate else (measure_from <= done <= stop_at):
                latencies.append(done - conn.sent_at)
                statuses[conn.status] = statuses.get(conn.status, 0) + 1
                measured += 1
                if expect is not None and expect in conn.buf:
                    hits += 1
            if stopping:
                continue
            if rate:
                idle.append(conn)
            elif max_requests is None or sent_total < max_requests:
                send(conn, time.perf_counter())
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    elapsed_total = time.perf_counter() - started
    for conn in conns:
        selector.unregister(conn.sock)
        conn.sock.close()
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    latencies.sort()
    window = min(duration, max(1e-9, elapsed_total - warmup))
    errors = sum(n for status, n in statuses.items() if not status.startswith(b"2")) + in_flight
    cpu_per = cpu / max(1, sent_total) * 1e6
    return LoadResult(
        mode="fixed-rate" if rate else "closed-loop",
        connections=connections,
        duration_s=round(window, 3),
        requests=measured,
        errors=errors,
        statuses={s.decode(): n for s, n in sorted(statuses.items())},
        expect_hits=hits,
        rate_per_s=measured / window,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p95_ms=percentile(latencies, 0.95) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        max_ms=(latencies[-1] * 1000) if latencies else float("nan"),
        cpu_s=cpu,
        cpu_us_per_request=cpu_per,
        ceiling_per_s=1e6 / cpu_per if cpu_per else float("inf"),
        target_rate=rate,
    )


def main(argv: list[str]) -> int:
    """`python -m bench.loadgen SPEC.json`: SPEC names host, port, the requests file and the mode."""
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    if spec.get("cpu") is not None:
        os.sched_setaffinity(0, set(spec["cpu"]))
    requests = read_requests(Path(spec["requests_file"]))
    expect = spec.get("expect")
    result = run_load(
        spec["host"],
        spec["port"],
        requests,
        connections=spec["connections"],
        duration=spec["duration"],
        warmup=spec.get("warmup", 1.0),
        rate=spec.get("rate"),
        expect=expect.encode() if expect else None,
    )
    result.extra["cpu_affinity"] = sorted(os.sched_getaffinity(0))
    sys.stdout.write(json.dumps(asdict(result)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
