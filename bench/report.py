"""Targets, the machine, the JSON of raw results, docs/performance.md and the PNG charts."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._common import ROOT, Figure, Run

__all__ = ["TARGETS", "evaluate", "machine", "write_charts", "write_json", "write_markdown"]

# (figure, baseline figure or None, kind, threshold, text). kind: ratio (≥), value (≥), p99 (<), report.
TARGETS: list[tuple[str, str | None, str, float | None, str]] = [
    ("client_ceiling", "bare", "ratio", 2.0, "load generator ≥ 2x the bare endpoint"),
    ("dv_authorize_1w", "bare", "ratio", 0.5, "authorize ≥ 50% of bare FastAPI req/s (`def` endpoint)"),
    ("dv_authorize_1w", "bare_async", "ratio", 0.5, "authorize ≥ 50% of bare FastAPI req/s (`async def` endpoint)"),
    ("dv_authorize_1w", "bao_decrypt", "ratio", 1.0, "authorize ≥ 1.0x Transit single decrypt"),
    ("alt_authorize", "alt_bare_async", "ratio", 0.5, "authorize ≥ 50% of bare `async def`, alternated windows"),
    ("alt_authorize", "alt_bao_decrypt", "ratio", 1.0, "authorize ≥ 1.0x Transit single decrypt, alternated windows"),
    ("alt_authorize", "alt_bao_decrypt_audited", "report", None, "authorize vs Transit decrypt with an audit device"),
    ("dv_authorize_200rps", None, "p99", 10.0, "authorize at 200 req/s: p99 < 10 ms"),
    ("dv_authorize_2w", "dv_authorize_1w", "report", None, "2 workers vs 1"),
    ("dv_authorize_2w", "bao_decrypt_2c", "report", None, "2 workers vs Transit decrypt on the same two cores"),
    ("dv_contact_single", "bao_encrypt", "ratio", 1.0, "single registration ≥ 1.0x Transit single encrypt"),
    ("dv_contact_batch_http", "diy_insert", "ratio", 1.0, "batch registration ≥ 1.0x do-it-yourself"),
    ("dv_contact_batch_http", "bao_batch_encrypt", "report", None, "batch registration vs bare Transit batch"),
    ("dv_contact_batch_service", "raw_insert", "ratio", 0.4, "service-layer bulk registration ≥ 40% of raw"),
    ("dv_consent_batch_http", "raw_insert", "ratio", 0.3, "batch consent capture (HTTP) ≥ 30% of raw"),
    ("dv_import_3000", "raw_insert", "ratio", 0.4, "bulk import ≥ 40% of raw"),
    ("dv_import_100000", "raw_insert", "ratio", 0.4, "bulk import ≥ 40% of raw"),
    ("dv_import_1000000", "raw_insert", "ratio", 0.4, "bulk import ≥ 40% of raw"),
    ("dv_import_3000", "raw_insert_3000", "report", None, "bulk import vs the raw loop at the same size"),
    ("dv_import_100000", "raw_insert_100000", "report", None, "bulk import vs the raw loop at the same size"),
    ("dv_import_1000000", "raw_insert_1000000", "report", None, "bulk import vs the raw loop at the same size"),
    ("dv_handles", None, "value", 20_000.0, "handle issuance ≥ 20,000 handles/s"),
    ("diy_insert", "raw_insert", "report", None, "do-it-yourself vs raw"),
]


def evaluate(run: Run) -> list[dict[str, Any]]:
    """Compute every target's ratio and verdict from figures of this same run."""
    checks: list[dict[str, Any]] = []
    for key, baseline, kind, threshold, text in TARGETS:
        figure = run.figures.get(key)
        if figure is None:
            continue
        base = run.figures.get(baseline) if baseline else None
        if baseline and base is None:
            checks.append({"figure": key, "baseline": baseline, "target": text, "ratio": None, "met": None})
            continue
        ratio = figure.value / base.value if base is not None and base.value else None
        met: bool | None
        if kind == "ratio":
            met = ratio is not None and threshold is not None and ratio >= threshold
        elif kind == "value":
            met = threshold is not None and figure.value >= threshold
        elif kind == "p99":
            met = figure.p99_ms is not None and threshold is not None and figure.p99_ms < threshold
        else:
            met = None
        check = {"figure": key, "baseline": baseline, "target": text, "ratio": ratio, "met": met}
        figure.checks.append(check)
        checks.append(check)
    return checks


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")  # fmt: skip
    mem_kb = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                   if line.startswith("MemTotal:")), 0)  # fmt: skip
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "load_average": os.getloadavg(),
    }


def write_json(run: Run, info: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "machine": info,
        "quick": run.quick,
        "settings": {
            "duration_s": run.duration,
            "warmup_s": run.warmup,
            "connections": run.connections,
            "batch_connections": run.batch_connections,
            "server_cpus": sorted(run.server_cpus or []),
            "client_cpus": sorted(run.client_cpus or []),
        },
        "figures": {key: asdict(figure) for key, figure in run.figures.items()},
        "series": run.series,
        "notes": run.notes,
    }
    path.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")


def _num(value: float | None, digits: int = 0) -> str:
    if value is None or value != value:  # None or NaN
        return "—"
    return f"{value:,.{digits}f}"


def _latency(figure: Figure) -> str:
    if figure.p50_ms is None:
        return "—"
    return f"{figure.p50_ms:.1f} / {figure.p95_ms:.1f} / {figure.p99_ms:.1f}"


def _verdict(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "—"}[met]


def write_markdown(run: Run, info: dict[str, Any], command: str, path: Path, charts: list[str]) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Performance",
        "",
        "<!-- generated by `python -m bench`; edit bench/report.py, not this file -->",
        "",
        f"Measured {now} with `{command}`" + (" (quick mode: short runs, no 1M points)." if run.quick else "."),
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram_gib']} GiB RAM; Python {info['python']}, "
        f"SQLite {info['sqlite']}; {info['platform']}. Load average at the end: "
        + ", ".join(f"{x:.2f}" for x in info["load_average"])
        + ".",
        "",
        _layout_text(run),
        "",
        "## Results",
        "",
        "Every ratio compares two figures of this same run. Latency is client-side, in milliseconds.",
        "",
        "| figure | value | unit | p50 / p95 / p99 ms | baseline | ratio | target | met? |",
        "|---|---:|---|---|---|---:|---|---|",
    ]
    for figure in run.figures.values():
        checks = figure.checks or [{"baseline": None, "ratio": None, "target": "", "met": None}]
        for index, check in enumerate(checks):
            first = index == 0
            base = run.figures.get(check["baseline"]) if check["baseline"] else None
            ratio = check["ratio"]
            lines.append(
                "| "
                + " | ".join(
                    [
                        figure.label if first else "〃",
                        _num(figure.value) if first else "",
                        figure.unit if first else "",
                        _latency(figure) if first else "",
                        base.label if base is not None else (check["baseline"] or "—"),
                        f"{ratio:.2f}x" if ratio is not None else "—",
                        check["target"] or "—",
                        _verdict(check["met"]),
                    ]
                )
                + " |"
            )
    lines += ["", *[f"![{c}](img/{c})" for c in charts], ""]
    lines += _details(run)
    lines += ["## What limits each number", ""]
    lines += [f"- **{f.label}** — {f.limited_by}" for f in run.figures.values() if f.limited_by]
    if run.notes:
        lines += ["", "## Notes from this run", "", *[f"- {n}" for n in run.notes]]
    lines += ["", _PROSE]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _layout_text(run: Run) -> str:
    if run.server_cpus and run.client_cpus:
        where = (
            f"Servers (uvicorn, `bao`) are pinned to core {sorted(run.server_cpus)} and the load generator to core "
            f"{sorted(run.client_cpus)} (sched_setaffinity, like `taskset`); in-process loops run unpinned."
        )
    else:
        where = "Only one core is available: server and client share it, so HTTP figures are lower bounds."
    return (
        f"{where} Every HTTP figure uses the same client (bench/loadgen.py: keep-alive raw sockets) with "
        f"{run.connections} connections for single-item requests and {run.batch_connections} for batch "
        f"requests, {run.duration:g} s measured after {run.warmup:g} s of warm-up."
    )


def _details(run: Run) -> list[str]:
    out = ["## Details", ""]
    for key in ("bare", "client_ceiling"):
        figure = run.figures.get(key)
        if figure is not None and key == "bare":
            out.append(
                f"- Load generator: {figure.details.get('client_cpu_us_per_request')} µs of client CPU per request "
                f"against the bare endpoint, i.e. a ceiling of about "
                f"{_num(figure.details.get('client_ceiling_req_s'))} req/s on its own core."
            )
    for figure in run.figures.values():
        if "allow_share" in figure.details:
            out.append(
                f"- {figure.label}: {figure.details['allow_share']:.0%} of answers were `allow` "
                f"(callee region {figure.details.get('region')}); store of "
                f"{_num(figure.details.get('store_contacts'))} contacts."
            )
        if "peak_rss_mib" in figure.details:
            out.append(f"- {figure.label}: peak RSS {figure.details['peak_rss_mib']} MiB; {figure.details['summary']}")
        if figure.details.get("errors"):
            out.append(f"- {figure.label}: {figure.details['errors']} error answers: {figure.details['statuses']}")
    return [*out, ""]


_PROSE = """## How to read this

- **raw loop** is the floor of the design in Python: one HMAC, one AES-GCM and a batched
  `executemany` per row, no framework. It bounds what any Python implementation of a vault can
  do on this machine; the product adds a per-contact key (a second AES-GCM), phone parsing,
  audit entries and SQLAlchemy.
- **bare FastAPI** is the HTTP ceiling: the most a single uvicorn worker answers when the
  handler does nothing. An endpoint doing real work can only approach it.
- **OpenBao Transit** is the alternative a team would otherwise deploy: every encrypt or
  decrypt is an HTTP round trip to it, and the lookup column, storage and consent logic are
  still theirs to build (the *do-it-yourself* row).
- Figures taken while other work runs on the machine are noisy; compare ratios from one run,
  not absolute numbers across runs.
- The **alternated** rows measure authorize, Transit decrypt (without and with an audit
  device) and the bare `async def` endpoint in turn, a few seconds each, for a few rounds, all
  servers up on the same core. Their ratios pair figures taken seconds apart, where the
  sequential rows pair figures taken minutes apart; the rounds' ratios are in the raw results
  (`round_ratios_vs_*`) and their spread in the notes. On a host whose speed drifts, trust the
  alternated ratio.
- **Transit with a file audit device** is the like-for-like peer of authorize: an authorize
  stores an audit entry for each number it reveals, and a Transit deployment that must show who
  decrypted what writes a request and a response line per call. The issue's target is judged
  on the dev server without one, the stricter baseline; the audited ratio is reported beside it.
- **raw loop at the import's size**: the raw loop's rate falls as its blind index outgrows the
  page cache, as the import's own indexes do. Each import is also reported against the raw loop
  run at its own number of rows; the target stays judged on the raw loop's standard figure.
"""


def write_charts(run: Run, directory: Path) -> list[str]:
    """PNG charts; returns the file names written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    written: list[str] = []

    http_keys = [k for k in ("bare", "bare_async", "bao_encrypt", "bao_decrypt", "dv_contact_single",
                             "dv_authorize_1w", "bao_decrypt_2c", "dv_authorize_2w", "alt_bao_decrypt",
                             "alt_bao_decrypt_audited", "alt_bare_async", "alt_authorize")
                 if k in run.figures]  # fmt: skip
    if http_keys:
        fig, ax = plt.subplots(figsize=(8, 4))
        labels = [_short(k) for k in http_keys]
        values = [run.figures[k].value for k in http_keys]
        baselines = ("bare", "bao", "alt_ba")
        ax.barh(labels, values, color=["#888" if k.startswith(baselines) else "#2a7" for k in http_keys])
        ax.set_xlabel("requests per second (higher is better)")
        ax.set_title("Single-item HTTP requests, same client and connections")
        ax.invert_yaxis()
        fig.tight_layout()
        fig.savefig(directory / "http-throughput.png", dpi=110)
        plt.close(fig)
        written.append("http-throughput.png")

    bulk = ("raw_insert", "diy_insert", "bao_batch_encrypt", "dv_contact_batch_service", "dv_contact_batch_http",
            "dv_consent_batch_http", "dv_handles")  # fmt: skip
    row_keys: list[str] = [k for k in bulk if k in run.figures]
    row_keys += [k for k in run.figures if k.startswith("dv_import_")]
    if row_keys:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        ax.barh([_short(k) for k in row_keys], [run.figures[k].value for k in row_keys],
                color=["#888" if k.startswith(("raw", "diy", "bao")) else "#2a7" for k in row_keys])  # fmt: skip
        ax.set_xlabel("items per second (higher is better)")
        ax.set_title("Bulk paths: rows, contacts, consents, handles per second")
        ax.invert_yaxis()
        fig.tight_layout()
        fig.savefig(directory / "bulk-throughput.png", dpi=110)
        plt.close(fig)
        written.append("bulk-throughput.png")

    scale = run.series.get("authorize_scale")
    if scale:
        fig, ax = plt.subplots(figsize=(7, 4))
        xs = [p["contacts"] for p in scale]
        ax.plot(xs, [p["p50_ms"] for p in scale], "o-", label="p50, saturated (closed loop)")
        ax.plot(xs, [p["p99_ms"] for p in scale], "o-", label="p99, saturated (closed loop)")
        ax.plot(xs, [p["fixed_p99_ms"] for p in scale], "s--", label="p99 at 200 req/s")
        ax.set_xscale("log")
        ax.set_xlabel("contacts in the store")
        ax.set_ylabel("authorize latency, ms")
        ax.set_title("Authorize latency vs store size (should stay flat)")
        ax.legend()
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        fig.savefig(directory / "authorize-scale.png", dpi=110)
        plt.close(fig)
        written.append("authorize-scale.png")

    imports = run.series.get("import")
    if imports and len(imports) > 1:
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.plot([p["rows"] for p in imports], [p["rows_per_s"] for p in imports], "o-")
        ax.set_xscale("log")
        ax.set_xlabel("rows in the CSV")
        ax.set_ylabel("rows per second")
        ax.set_title("dialvault import throughput vs file size")
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        fig.savefig(directory / "import-scale.png", dpi=110)
        plt.close(fig)
        written.append("import-scale.png")
    return written


_SHORT = {
    "bare": "bare FastAPI (def)",
    "bare_async": "bare FastAPI (async def)",
    "bao_encrypt": "Transit encrypt",
    "bao_decrypt": "Transit decrypt",
    "bao_decrypt_2c": "Transit decrypt (2 cores)",
    "bao_batch_encrypt": "Transit batch encrypt",
    "dv_contact_single": "dialvault register (1)",
    "dv_authorize_1w": "dialvault authorize (1 worker)",
    "dv_authorize_2w": "dialvault authorize (2 workers)",
    "alt_bao_decrypt": "Transit decrypt (alternated)",
    "alt_bao_decrypt_audited": "Transit decrypt, audited (alternated)",
    "alt_bare_async": "bare FastAPI async (alternated)",
    "alt_authorize": "dialvault authorize (alternated)",
    "raw_insert": "raw loop",
    "diy_insert": "do-it-yourself (Transit + SQLite)",
    "dv_contact_batch_service": "register_contacts (in-process)",
    "dv_contact_batch_http": "contacts/batch (HTTP)",
    "dv_consent_batch_http": "consents/batch (HTTP)",
    "dv_handles": "handle issuance (HTTP)",
}


def _short(key: str) -> str:
    if key.startswith("dv_import_"):
        return f"import {int(key.rsplit('_', 1)[1]):,} rows"
    if key.startswith("raw_insert_"):
        return f"raw loop {int(key.rsplit('_', 1)[1]):,} rows"
    return _SHORT.get(key, key)


def relative(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)
