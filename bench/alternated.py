"""Authorize against its HTTP baselines in alternated windows, so each ratio pairs figures of one moment.

The sequential figures compare numbers measured minutes apart: on a shared host the speed moved up to 18% within
one run, and back-to-back runs of one figure differed by up to 30%. Here OpenBao (Transit decrypt), the bare
`async def` endpoint and dialvault's authorize are served side by side on the server core, and the load
generator takes them in turn, a short window each, for a few rounds. Each round gives a ratio of figures
measured seconds apart; the target is judged on the rates summed over the rounds, and the spread of the
rounds' ratios is reported beside it.

A second OpenBao server, with a file audit device, takes its turn too: an authorize writes an audit entry for
each reveal, and a Transit deployment that keeps a trail of its decrypts writes one per request. Its figure is
reported beside the target, which stays judged on the dev server without an audit device, as the issue set it.
Its log goes to memory (/dev/shm) where there is one: written to disk, its ~3 KB a request came back as the
kernel's writeback during the other servers' windows.
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tests.servers import ServerUnavailable, openbao_dev_server

from ._common import Figure, Run, load
from .ceiling import BARE_ASYNC, bare_server
from .loadgen import LoadResult
from .numbers import phone_numbers
from .openbao import create_key, decrypt_requests, pin_process

__all__ = ["measure_alternated"]

_IN_MEMORY = "/dev/shm" if Path("/dev/shm").is_dir() else None  # a tmpfs, for OpenBao's audit log

_NAMES = {
    "alt_bao_decrypt": "OpenBao Transit: decrypt one number per request",
    "alt_bao_decrypt_audited": "OpenBao Transit with a file audit device: decrypt one number per request",
    "alt_bare_async": "bare FastAPI endpoint (`async def`)",
    "alt_authorize": "dialvault: authorize, 1 worker",
}


def measure_alternated(
    run: Run, port: int, authorize_requests: Callable[[float], list[bytes]], details: Mapping[str, Any]
) -> None:
    """Rounds of (Transit decrypt, audited Transit decrypt, bare endpoint, authorize on `port`);
    `authorize_requests(seconds)` gives fresh authorize requests for a window of that many seconds (warm-up
    included); `details` describe the store authorize runs on."""
    rounds = run.n(5, 2, 1)  # five: one disturbed window moves the summed rates by a fifth of its dip
    window = 0.5 if run.tiny else 2.0 if run.quick else 4.0
    results: dict[str, list[LoadResult]] = {key: [] for key in _NAMES}
    with contextlib.ExitStack() as servers:
        try:
            bao = servers.enter_context(openbao_dev_server())
            audit_dir = servers.enter_context(tempfile.TemporaryDirectory(prefix="dialvault-audit-", dir=_IN_MEMORY))
            audited = servers.enter_context(openbao_dev_server(audited=True, audit_dir=Path(audit_dir)))
        except ServerUnavailable as exc:
            run.notes.append(f"alternated ratios skipped: {exc}")
            return
        decrypts: dict[str, tuple[int, list[bytes]]] = {}
        for key, server in (("alt_bao_decrypt", bao), ("alt_bao_decrypt_audited", audited)):
            assert server.process is not None
            pin_process(server.process.pid, run.server_cpus)
            create_key(server)
            decrypts[key] = (server.port, decrypt_requests(server, phone_numbers(2_000, seed=23)))
        bare_port = servers.enter_context(bare_server(run, "alternated-bare.log"))
        for _ in range(rounds):
            for key, (bao_port, decrypt) in decrypts.items():
                results[key].append(load(run, bao_port, decrypt, duration=window, expect="plaintext"))
            results["alt_bare_async"].append(load(run, bare_port, [BARE_ASYNC], duration=window))
            requests = authorize_requests(window + run.warmup)
            results["alt_authorize"].append(load(run, port, requests, duration=window, expect='"allow"'))
    for key, label in _NAMES.items():
        figure = run.add(_summed(key, f"{label}, alternated ({rounds} rounds of {window:g} s)", results[key]))
        if figure.details["errors"]:
            run.notes.append(f"{figure.label}: {figure.details['errors']} error answers")
    authorize = results["alt_authorize"]
    allowed = sum(r.expect_hits for r in authorize) / max(1, sum(r.requests for r in authorize))
    run.figures["alt_authorize"].details.update(details, allow_share=round(allowed, 3))
    for baseline in ("alt_bao_decrypt", "alt_bao_decrypt_audited", "alt_bare_async"):
        ratios = [a.rate_per_s / b.rate_per_s for a, b in zip(authorize, results[baseline], strict=True)]
        run.figures["alt_authorize"].details[f"round_ratios_vs_{baseline}"] = [round(r, 3) for r in ratios]
        run.notes.append(
            f"alternated windows: authorize / {_NAMES[baseline]}, round by round: "
            + ", ".join(f"{r:.2f}" for r in ratios)
            + f" (median {statistics.median(ratios):.2f})"
        )


_LIMITED_BY = {
    "alt_bao_decrypt_audited": "OpenBao's request path on one core, and its file audit device: a JSON line per request "
    "and per response, each secret field replaced by its HMAC; measured in turn with the others, seconds apart",
}


def _summed(key: str, label: str, results: list[LoadResult]) -> Figure:
    """One figure for a subject's windows: requests over measured seconds, the rounds' median latencies."""
    requests = sum(r.requests for r in results)
    seconds = sum(r.duration_s for r in results)
    statuses: Counter[str] = Counter()
    for result in results:
        statuses.update(result.statuses)
    return Figure(
        key=key,
        label=label,
        value=requests / seconds if seconds else 0.0,
        unit="req/s",
        p50_ms=statistics.median(r.p50_ms for r in results),
        p95_ms=statistics.median(r.p95_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        limited_by=_LIMITED_BY.get(key, "as its sequential figure; measured in turn with the others, seconds apart"),
        details={
            "round_rates": [round(r.rate_per_s) for r in results],
            "requests": requests,
            "errors": sum(r.errors for r in results),
            "statuses": dict(statuses),
        },
    )
