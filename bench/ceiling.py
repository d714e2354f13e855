"""The HTTP ceiling (a bare FastAPI endpoint) and the load generator's own ceiling."""

from __future__ import annotations

import sys

from ._common import Figure, Run, free_port, http_request, load, server_process

__all__ = ["measure_ceiling"]


def measure_ceiling(run: Run) -> None:
    port = free_port()
    command = [sys.executable, "-m", "bench.bare_app", "--port", str(port)]
    with server_process(
        command, health_url=f"http://127.0.0.1:{port}/bare", cpus=run.server_cpus, log_path=run.workdir / "bare.log"
    ):
        result = load(run, port, [http_request("POST", "/bare", {"n": 1})])
        result_async = load(run, port, [http_request("POST", "/bare-async", {"n": 1})])
    run.add_load(
        "bare",
        "bare FastAPI endpoint (`def`, constant JSON, uvicorn as `dialvault serve`, 1 worker)",
        result,
        limited_by="the server core: uvicorn (uvloop + httptools), FastAPI routing/serialization, and the "
        "thread-pool hop FastAPI makes for a `def` endpoint",
    )
    run.add_load(
        "bare_async",
        "bare FastAPI endpoint (`async def`, constant JSON, same server)",
        result_async,
        limited_by="the server core: uvicorn (uvloop + httptools) and FastAPI routing/serialization only",
    )
    run.add(
        Figure(
            "client_ceiling",
            "load generator ceiling (its CPU time per request, one core)",
            result.ceiling_per_s,
            "req/s",
            limited_by="the client core: Python socket send/recv and response framing",
            details={"client_cpu_us_per_request": round(result.cpu_us_per_request, 1)},
        )
    )
