"""Handle issuance and authorize, at three store sizes.

Stores of 10k / 100k / 1M contacts are built once through the service layer in-process
(`register_contacts`, batches of 5,000) and cached under bench/results/cache/ (git-ignored);
each run works on a copy. On the copy, a "hot set" of contacts gets consents, a campaign with
a whitelisted caller line, and dial handles over HTTP; authorize then redeems distinct handles.

The hot set's numbers are chosen in a numbering area whose local time is inside the default
calling window right now, so the allow path (the expensive one: decrypt + audit + attempt) is
what gets measured. The share of `allow` answers is reported with each figure. At the first
size, authorize is also measured in windows alternated with its two baselines (bench/alternated.py).
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from vault.errors import DialvaultError
from vault.services import Role
from vault.storage import Database, schema_is_current

from ._common import Run, http_request, load
from .alternated import measure_alternated
from .dialvault import BenchVault, consent_item, copy_bench_vault, create_bench_vault, serve, service_register_rate
from .numbers import REGION_PREFIXES, phone_numbers

__all__ = ["measure_dialing"]

CALLER_LINE = "+861058000000"
_CACHE_VERSION = "v1"


def calling_region(now: datetime | None = None) -> tuple[str, str, int]:
    """(name, prefix, digits) of a numbering area whose local time is well inside 08:00-21:00."""
    now = now or datetime.now(UTC)
    best: tuple[float, str] | None = None
    for name, (_, _, zone) in REGION_PREFIXES.items():
        local = now.astimezone(ZoneInfo(zone))
        hour = local.hour + local.minute / 60
        distance = abs(hour - 14.5)  # middle of the window
        if best is None or distance < best[0]:
            best = (distance, name)
    assert best is not None
    prefix, digits, _ = REGION_PREFIXES[best[1]]
    return best[1], prefix, digits


def _hot_numbers(count: int, offset: int) -> tuple[str, list[str]]:
    name, prefix, digits = calling_region()
    return name, [f"{prefix}{offset + i:0{digits}d}" for i in range(count)]


# -- cached stores -----------------------------------------------------------------------------


def _checkpoint(home: Path) -> None:
    for db in home.glob("*.db"):
        connection = sqlite3.connect(db)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()


def cached_store(run: Run, size: int) -> Path:
    """The home of a vault holding `size` contacts, built once and reused while its schema is current."""
    home = run.cache_dir / f"store-{size}-{_CACHE_VERSION}"
    if (home / "bench-secrets.json").exists():
        bench = BenchVault.load(home)
        database = Database(bench.settings.resolved_database_url)
        try:
            if schema_is_current(database):
                return home
        except DialvaultError:
            pass
        finally:
            database.dispose()
        run.log(f"  cached store {home.name} has an old schema: rebuilding")
    if home.exists():
        shutil.rmtree(home)
    run.log(f"  building a store of {size:,} contacts (cached for later runs)...")
    started = time.perf_counter()
    building = home.with_name(home.name + ".building")
    if building.exists():
        shutil.rmtree(building)
    bench = create_bench_vault(building)
    for start in range(0, size, 100_000):
        service_register_rate(bench, phone_numbers(min(100_000, size - start), 61, start), batch=5000)
    _checkpoint(building)
    building.rename(home)
    run.log(f"  built in {time.perf_counter() - started:.0f} s")
    return home


# -- set-up over HTTP --------------------------------------------------------------------------


def _post(client: httpx.Client, path: str, body: Any, headers: dict[str, str]) -> dict[str, Any]:
    response = client.post(path, json=body, headers=headers)
    if response.status_code >= 300:
        raise RuntimeError(f"POST {path} answered {response.status_code}: {response.text[:300]}")
    data: dict[str, Any] = response.json()
    return data


def prepare_dialing(bench: BenchVault, port: int, hot: int) -> dict[str, Any]:
    """Caller line, campaign, consents for `hot` numbers in calling hours, and one handle each."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120, trust_env=False) as client:
        admin = bench.headers(Role.ADMIN)
        _post(client, "/v1/caller-lines", {"number": CALLER_LINE, "whitelist_status": "approved"}, admin)
        campaign = _post(
            client,
            "/v1/campaigns",
            {"name": "bench", "purpose": "marketing", "channel": "voice", "caller_lines": [CALLER_LINE]},
            bench.headers(Role.DIALER),
        )["campaign_id"]
        region, numbers = _hot_numbers(hot, offset=100_000)
        contact_ids: list[str] = []
        for start in range(0, len(numbers), 1000):
            items = [consent_item(n) for n in numbers[start : start + 1000]]
            answer = _post(client, "/v1/consents/batch", {"items": items}, bench.headers(Role.CAPTURE))
            contact_ids.extend(r["contact_id"] for r in answer["results"] if r.get("contact_id"))
        handles: list[str] = []
        excluded: dict[str, int] = {}
        for start in range(0, len(contact_ids), 1000):
            answer = _post(
                client,
                f"/v1/campaigns/{campaign}/handles",
                {"contact_ids": contact_ids[start : start + 1000]},
                bench.headers(Role.DIALER),
            )
            handles.extend(h["handle"] for h in answer["handles"])
            for item in answer.get("excluded", []):
                excluded[item["reason"]] = excluded.get(item["reason"], 0) + 1
    return {
        "campaign": campaign,
        "contact_ids": contact_ids,
        "handles": handles,
        "excluded": excluded,
        "region": region,
    }


def _authorize_requests(bench: BenchVault, handles: list[str]) -> list[bytes]:
    gateway = bench.headers(Role.GATEWAY)
    return [
        http_request("POST", "/v1/dial/authorize", {"handle": h, "caller_line": CALLER_LINE}, gateway) for h in handles
    ]


class _HandlePool:
    """Hands out slices of the hot set's handles so each run redeems handles no other run used."""

    def __init__(self, handles: list[str]) -> None:
        self.handles = handles
        self.at = 0

    def take(self, count: int) -> list[str]:
        if not self.handles:
            raise RuntimeError("no handles were issued (every contact was excluded)")
        out = [self.handles[(self.at + i) % len(self.handles)] for i in range(count)]
        self.at += count
        return out


def _authorize_windows(bench: BenchVault, pool: _HandlePool, per_second: float) -> Callable[[float], list[bytes]]:
    """Fresh authorize requests for a window of so many seconds, at up to `per_second`."""
    return lambda seconds: _authorize_requests(bench, pool.take(int(per_second * seconds)))


def _allow_share(result: Any) -> float:
    return result.expect_hits / result.requests if result.requests else 0.0


def measure_dialing(run: Run) -> None:
    sizes = [1_000] if run.tiny else [10_000, 100_000] if run.quick else [10_000, 100_000, 1_000_000]
    expected_rate = 6_000  # generous: sizes each slice of handles (the load generator cycles through a slice)
    per_run = int(expected_rate * (run.duration + run.warmup))
    scale: list[dict[str, float]] = []
    for size in sizes:
        # Fresh handles for every run: a handle redeemed again is a fourth marketing attempt within a day
        # sooner or later, and its frequency-cap deny would count in the figure. The first size also
        # serves the alternated windows and the two-worker run.
        hot = run.n(200_000, 30_000, 400) if size == sizes[0] else run.n(40_000, 12_000, 200)
        source = cached_store(run, size)
        bench = copy_bench_vault(source, run.workdir / f"vault-dial-{size}")
        with serve(run, bench) as port:
            probe = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=10, trust_env=False).json()["paths"]
            missing = [p for p in ("/v1/dial/authorize", "/v1/campaigns", "/v1/caller-lines") if p not in probe]
            if missing:
                run.notes.append(f"handles/authorize skipped: routes not present yet: {', '.join(missing)}")
                run.log(f"  skipped: routes missing {missing}")
                return
            prepared = prepare_dialing(bench, port, hot)
            pool = _HandlePool(prepared["handles"])
            details = {"store_contacts": size + hot, "region": prepared["region"], "excluded": prepared["excluded"]}
            if size == sizes[0]:
                _measure_handles(run, bench, port, prepared)
            result = load(run, port, _authorize_requests(bench, pool.take(per_run)), expect='"allow"')
            label = f"dialvault: authorize, 1 worker ({size:,} contacts)"
            key = "dv_authorize_1w" if size == sizes[0] else f"dv_authorize_1w_{size}"
            extra = {"allow_share": round(_allow_share(result), 3), **details}
            if size == sizes[0]:
                run.add_load(
                    key,
                    label,
                    result,
                    limited_by="the server core: uvicorn and the hot-route handler (no FastAPI request handling), "
                    "the key (looked up once per process, confirmed live once per batch), then in a group-committed "
                    "transaction the batch's authorizations decided together (one joined handle read and one "
                    "frequency-cap read for all, one insert of their attempts) with per request the policy "
                    "decision, DEK unwrap + decrypt and the audit entry's hash and MAC; one access-log line",
                    details=extra,
                )
            else:
                run.add_load(key, label, result, details=extra)
            fixed = load(
                run, port, _authorize_requests(bench, pool.take(int(200 * (run.duration + run.warmup)) + 10)),
                rate=200, expect='"allow"',
            )  # fmt: skip
            if fixed.requests < 0.5 * 200 * run.duration:
                run.notes.append(
                    f"authorize at 200 req/s ({size:,} contacts): the server could not keep up "
                    f"({fixed.requests} answers for {200 * run.duration:.0f} scheduled), so its p99 is unbounded"
                )
            fixed_key = "dv_authorize_200rps" if size == sizes[0] else f"dv_authorize_200rps_{size}"
            run.add_load(
                fixed_key,
                f"dialvault: authorize at a fixed 200 req/s ({size:,} contacts), p99",
                fixed,
                limited_by="service time of one authorize plus queueing behind WAL checkpoints",
                details={"allow_share": round(_allow_share(fixed), 3), **details},
            )
            scale.append(
                {
                    "contacts": size + hot,
                    "req_s": result.rate_per_s,
                    "p50_ms": result.p50_ms,
                    "p99_ms": result.p99_ms,
                    "fixed_p50_ms": fixed.p50_ms,
                    "fixed_p99_ms": fixed.p99_ms,
                }
            )
            measured_rate = max(result.rate_per_s, 100.0)  # sizes the later runs' slices of handles
            if size == sizes[0]:
                measure_alternated(run, port, _authorize_windows(bench, pool, measured_rate * 1.3), details)
        if size == sizes[0]:
            two_worker_slice = int(measured_rate * 1.6 * (run.duration + run.warmup))
            _measure_two_workers(run, bench, pool, two_worker_slice, details)
        shutil.rmtree(bench.home, ignore_errors=True)
    run.series["authorize_scale"] = scale


def _measure_handles(run: Run, bench: BenchVault, port: int, prepared: dict[str, Any]) -> None:
    ids: list[str] = prepared["contact_ids"]
    batch = 1000
    bodies = [ids[i : i + batch] for i in range(0, len(ids) - batch + 1, batch)] or [ids]
    requests = [
        http_request(
            "POST", f"/v1/campaigns/{prepared['campaign']}/handles", {"contact_ids": b}, bench.headers(Role.DIALER)
        )
        for b in bodies
    ]
    result = load(
        run, port, requests, expect='"excluded":[]', connections=run.batch_connections, duration=run.batch_duration
    )
    run.add_load(
        "dv_handles",
        f"dialvault: handle issuance ({len(bodies[0]):,} contacts per request, HTTP)",
        result,
        unit="handles/s",
        per_request=len(bodies[0]),
        limited_by="the server core and the disk: per-contact eligibility checks (one query per batch), a random "
        "token + HMAC digest per handle, the batch insert (rows append by their time-sorted id; the contact index "
        "takes the handles of contacts registered together in one region), JSON out",
    )


def _measure_two_workers(run: Run, bench: BenchVault, pool: _HandlePool, handles: int, details: dict[str, Any]) -> None:
    both = (run.server_cpus or set()) | (run.client_cpus or set()) or None
    with serve(run, bench, workers=2, cpus=both) as port:
        result = load(run, port, _authorize_requests(bench, pool.take(handles)), expect='"allow"')
    run.add_load(
        "dv_authorize_2w",
        "dialvault: authorize, 2 workers (server on both cores, client shares one)",
        result,
        limited_by="SQLite's single writer: an authorize's whole decision runs inside the write transaction, so "
        "the workers overlap only HTTP, key check and JSON; two workers and the client share two cores",
        details={"allow_share": round(_allow_share(result), 3), **details},
    )
