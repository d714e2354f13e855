"""Shared plumbing: the run's settings, figures, CPU layout, HTTP requests and child servers."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .loadgen import LoadResult, write_requests

__all__ = [
    "RESULTS_DIR",
    "Figure",
    "Run",
    "cpu_layout",
    "free_port",
    "http_request",
    "load",
    "server_process",
    "wait_http",
]

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"


@dataclass
class Figure:
    """One measured number, with what it is compared against."""

    key: str
    label: str
    value: float
    unit: str
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)  # filled by report.evaluate
    limited_by: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Run:
    """The knobs of one benchmark run (quick or full) and what it has measured so far."""

    quick: bool
    duration: float
    warmup: float
    connections: int
    workdir: Path
    cache_dir: Path
    server_cpus: set[int] | None
    client_cpus: set[int] | None
    batch_connections: int = 4
    tiny: bool = False  # the smoke test's mode: a few seconds in all
    import_budget_s: float = 900.0  # skip an import point projected to take longer
    figures: dict[str, Figure] = field(default_factory=dict)
    series: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    log: Callable[[str], None] = print

    @property
    def batch_duration(self) -> float:
        """Batch requests take long: measure them over a longer window."""
        return self.duration if self.tiny else 3.0 if self.quick else 2 * self.duration

    def n(self, full: int, quick: int, tiny: int) -> int:
        """A size for this mode."""
        return tiny if self.tiny else quick if self.quick else full

    def add(self, figure: Figure) -> Figure:
        self.figures[figure.key] = figure
        self.log(f"  {figure.label}: {figure.value:,.0f} {figure.unit}" + _latency_text(figure))
        return figure

    def add_load(self, key: str, label: str, result: LoadResult, unit: str = "req/s", **kwargs: Any) -> Figure:
        """A figure from a load-generator result (req/s; `per_request` items turn it into items/s)."""
        per_request = kwargs.pop("per_request", 1)
        details = {
            "requests": result.requests,
            "errors": result.errors,
            "statuses": result.statuses,
            "connections": result.connections,
            "duration_s": result.duration_s,
            "client_cpu_us_per_request": round(result.cpu_us_per_request, 1),
            "client_ceiling_req_s": round(result.ceiling_per_s),
            "expect_hits": result.expect_hits,
            "mode": result.mode,
        }
        if result.target_rate:
            details["target_rate"] = result.target_rate
        details.update(kwargs.pop("details", {}))
        if result.errors:
            self.notes.append(f"{label}: {result.errors} error answers ({result.statuses})")
        return self.add(
            Figure(
                key=key,
                label=label,
                value=result.rate_per_s * per_request,
                unit=unit,
                p50_ms=result.p50_ms,
                p95_ms=result.p95_ms,
                p99_ms=result.p99_ms,
                details=details,
                **kwargs,
            )
        )


def _latency_text(figure: Figure) -> str:
    if figure.p50_ms is None:
        return ""
    return f"  (p50 {figure.p50_ms:.2f} / p95 {figure.p95_ms:.2f} / p99 {figure.p99_ms:.2f} ms)"


def cpu_layout() -> tuple[set[int] | None, set[int] | None]:
    """(server cores, client cores): split the machine in two when it has two cores or more."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    return {cpus[0]}, {cpus[1]}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_request(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> bytes:
    """One HTTP/1.1 keep-alive request as raw bytes (JSON body)."""
    payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: keep-alive"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body is not None:
        lines.append("Content-Type: application/json")
    lines.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def load(
    run: Run,
    port: int,
    requests: Sequence[bytes],
    *,
    rate: float | None = None,
    duration: float | None = None,
    connections: int | None = None,
    expect: str | None = None,
    client_cpus: set[int] | bool | None = True,
) -> LoadResult:
    """Run the load generator in its own process pinned to the client core; returns its result."""
    cpus = run.client_cpus if client_cpus is True else (client_cpus or None)
    with tempfile.TemporaryDirectory(dir=run.workdir) as tmp:
        requests_file = Path(tmp) / "requests.bin"
        write_requests(requests_file, requests)
        spec = {
            "host": "127.0.0.1",
            "port": port,
            "requests_file": str(requests_file),
            "connections": connections or run.connections,
            "duration": duration or run.duration,
            "warmup": run.warmup,
            "rate": rate,
            "expect": expect,
            "cpu": sorted(cpus) if cpus else None,
        }
        spec_file = Path(tmp) / "spec.json"
        spec_file.write_text(json.dumps(spec), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "bench.loadgen", str(spec_file)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=(duration or run.duration) + run.warmup + 60,
        )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr[-2000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    extra = data.pop("extra", {})
    result = LoadResult(**data)
    result.extra = extra
    return result


def wait_http(url: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited at start (code {process.returncode})")
        try:
            if httpx.get(url, timeout=1.0, trust_env=False).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout:g} s")
        time.sleep(0.05)


@contextlib.contextmanager
def server_process(
    command: list[str],
    *,
    health_url: str,
    cpus: set[int] | None,
    env: dict[str, str] | None = None,
    log_path: Path,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server child pinned to `cpus`, wait until `health_url` answers, stop it on exit."""

    def pin() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)

    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=pin,  # noqa: PLW1509 - only sets the CPU affinity
            start_new_session=True,
        )
    try:
        wait_http(health_url, process)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 15)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait(5)
