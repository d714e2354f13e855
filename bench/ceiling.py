"""The HTTP ceiling (a bare FastAPI endpoint) and the load generator's own ceiling."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from ._common import Figure, Run, free_port, http_request, load, server_process

__all__ = ["BARE_ASYNC", "bare_server", "measure_ceiling", "measure_drift"]

#: A request to the bare `async def` endpoint.
BARE_ASYNC = http_request("POST", "/bare-async", {"n": 1})


@contextlib.contextmanager
def bare_server(run: Run, log_name: str) -> Iterator[int]:
    """The bare FastAPI app on a free port, pinned to the server core; yields the port."""
    port = free_port()
    command = [sys.executable, "-m", "bench.bare_app", "--port", str(port)]
    with server_process(
        command, health_url=f"http://127.0.0.1:{port}/bare", cpus=run.server_cpus, log_path=run.workdir / log_name
    ):
        yield port


def measure_ceiling(run: Run) -> None:
    with bare_server(run, "bare.log") as port:
        result = load(run, port, [http_request("POST", "/bare", {"n": 1})])
        result_async = load(run, port, [BARE_ASYNC])
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


# Past this change in the bare endpoint between a run's start and its end, the host's speed moved during the
# run, and ratios of figures measured minutes apart carry that error.
_DRIFT_WARNING = 0.10


def measure_drift(run: Run) -> None:
    """The bare `async def` endpoint again at the end of a run: how much the host's speed moved meanwhile."""
    start = run.figures.get("bare_async")
    if start is None:
        return
    with bare_server(run, "drift.log") as port:
        end = load(run, port, [BARE_ASYNC])
    change = end.rate_per_s / start.value - 1
    run.notes.append(
        f"host drift: the bare `async def` endpoint served {start.value:,.0f} req/s at the start of this run and "
        f"{end.rate_per_s:,.0f} at its end ({change:+.0%})"
        + (
            f"; past ±{_DRIFT_WARNING:.0%}, ratios of figures measured minutes apart carry that much error"
            if abs(change) > _DRIFT_WARNING
            else ""
        )
    )
