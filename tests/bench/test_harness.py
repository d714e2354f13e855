"""The benchmark harness keeps working: a tiny run end to end, and the pieces it is built from."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bench._common import Figure, Run, http_request
from bench.loadgen import read_requests, run_load, write_requests
from bench.report import evaluate

ROOT = Path(__file__).resolve().parents[2]


class _Constant(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = b'{"decision":"allow"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def constant_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Constant)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def _run(tmp_path: Path) -> Run:
    return Run(
        quick=True, duration=0.5, warmup=0.1, connections=4, workdir=tmp_path, cache_dir=tmp_path,
        server_cpus=None, client_cpus=None,
    )  # fmt: skip


def test_requests_file_round_trips(tmp_path: Path) -> None:
    requests = [http_request("POST", "/x", {"n": i}, {"Authorization": "Bearer k"}) for i in range(3)]
    write_requests(tmp_path / "r.bin", requests)
    assert read_requests(tmp_path / "r.bin") == requests


def test_load_generator_counts_answers_and_latency(constant_server: int) -> None:
    result = run_load(
        "127.0.0.1", constant_server, [http_request("POST", "/", {"a": 1})],
        connections=2, duration=0.5, warmup=0.1, expect=b'"allow"',
    )  # fmt: skip
    assert result.requests > 0
    assert result.errors == 0
    assert result.expect_hits == result.requests
    assert 0 < result.p50_ms <= result.p99_ms


def test_fixed_rate_mode_sends_at_the_requested_rate(constant_server: int) -> None:
    result = run_load(
        "127.0.0.1", constant_server, [http_request("POST", "/", {})], connections=4, duration=1.0, warmup=0.1, rate=50
    )
    assert result.mode == "fixed-rate"
    assert 40 <= result.requests <= 55


def _checks_of(tmp_path: Path, figure: str, rates: dict[str, float]) -> dict[str | None, dict[str, Any]]:
    """`figure`'s target checks, by baseline, in a run that measured these req/s."""
    run = _run(tmp_path)
    run.log = lambda _: None
    for key, rate in rates.items():
        run.add(Figure(key, key, rate, "req/s"))
    return {c["baseline"]: c for c in evaluate(run) if c["figure"] == figure}


def test_targets_are_ratios_of_figures_from_the_same_run(tmp_path: Path) -> None:
    rates = {"bare": 1000.0, "bao_decrypt": 800.0, "dv_authorize_1w": 600.0}
    checks = _checks_of(tmp_path, "dv_authorize_1w", rates)
    assert checks["bare"]["ratio"] == pytest.approx(0.6)
    assert checks["bare"]["met"] is True
    assert checks["bao_decrypt"]["met"] is False


def test_tiny_run_writes_the_report_and_raw_results(tmp_path: Path) -> None:
    out = tmp_path / "performance.md"
    raw = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", "--only", "ceiling", "raw", "contacts", "--connections", "4",
         "--out", str(out), "--json", str(raw), "--cache-dir", str(tmp_path / "cache")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(raw.read_text(encoding="utf-8"))["figures"]
    for key in ("bare", "client_ceiling", "raw_insert", "raw_lookup", "dv_contact_batch_service"):
        assert figures[key]["value"] > 0, key
    assert "dv_contact_single" in figures  # a busy machine may answer nothing inside a 0.5 s window
    report = out.read_text(encoding="utf-8")
    assert "| figure | value | unit | p50 / p95 / p99 ms | baseline | ratio | target | met? |" in report
    assert "## What limits each number" in report
    assert "host drift: the bare `async def` endpoint served" in report
    assert (tmp_path / "img" / "http-throughput.png").stat().st_size > 0


def test_alternated_authorize_is_judged_against_the_baselines_measured_beside_it(tmp_path: Path) -> None:
    rates = {"bao_decrypt": 2000.0, "alt_bao_decrypt": 1000.0, "alt_bao_decrypt_audited": 800.0,
             "alt_bare_async": 3000.0, "alt_authorize": 1200.0}  # fmt: skip
    checks = _checks_of(tmp_path, "alt_authorize", rates)
    assert set(checks) == {"alt_bao_decrypt", "alt_bao_decrypt_audited", "alt_bare_async"}
    assert checks["alt_bao_decrypt"]["ratio"] == pytest.approx(1.2)
    assert checks["alt_bao_decrypt"]["met"] is True
    assert checks["alt_bare_async"]["met"] is False


def test_authorize_against_audited_transit_is_reported_but_not_judged(tmp_path: Path) -> None:
    rates = {"alt_bao_decrypt": 1000.0, "alt_bao_decrypt_audited": 800.0, "alt_authorize": 900.0}
    checks = _checks_of(tmp_path, "alt_authorize", rates)
    assert checks["alt_bao_decrypt_audited"]["ratio"] == pytest.approx(1.125)
    assert checks["alt_bao_decrypt_audited"]["met"] is None
    assert checks["alt_bao_decrypt"]["met"] is False


def test_import_is_judged_against_the_raw_loop_and_reported_against_the_raw_loop_at_its_size(tmp_path: Path) -> None:
    rates = {"raw_insert": 50_000.0, "raw_insert_1000000": 30_000.0, "dv_import_1000000": 15_000.0}
    checks = _checks_of(tmp_path, "dv_import_1000000", rates)
    assert checks["raw_insert"]["met"] is False
    assert checks["raw_insert_1000000"]["ratio"] == pytest.approx(0.5)
    assert checks["raw_insert_1000000"]["met"] is None
