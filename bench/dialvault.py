"""dialvault itself: the real `dialvault serve` (child process, pinned) and the service layer in-process.

Each vault used here is a real SQLite vault in the run's work dir with the `env` key provider
(the root key only wraps tenant keys, which the server caches: the provider is off the hot path).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from vault.config import Settings
from vault.services import Actor, Role, Vault, initialize_vault, open_vault
from vault.services.bootstrap import new_env_root_key
from vault.services.consent import register_notice
from vault.services.contacts import register_contacts
from vault.services.tenants import issue_api_key

from ._common import ROOT, Figure, Run, free_port, http_request, load, server_process
from .numbers import phone_numbers
from .raw import raw_insert_rate

__all__ = [
    "NOTICE",
    "BenchVault",
    "copy_bench_vault",
    "create_bench_vault",
    "measure_consents",
    "measure_contacts",
    "measure_import",
    "serve",
]

NOTICE = {"id": "bench-notice", "version": "v1"}  # what bench/gen_import_csv.py writes
NOTICE_TEXT = "We will call you about our offers at most three times a day. Reply STOP to opt out."
ROLES = (Role.ADMIN, Role.CAPTURE, Role.DIALER, Role.GATEWAY)


@dataclass
class BenchVault:
    home: Path
    root_key: str
    tenant_id: str
    keys: dict[str, str]

    @property
    def settings(self) -> Settings:
        return Settings(home=self.home, key_provider="env", root_key=self.root_key)

    @property
    def env(self) -> dict[str, str]:
        return {
            "DIALVAULT_HOME": str(self.home),
            "DIALVAULT_KEY_PROVIDER": "env",
            "DIALVAULT_ROOT_KEY": self.root_key,
        }

    def headers(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role.value]}"}

    def actor(self, role: Role = Role.CAPTURE) -> Actor:
        return Actor(tenant_id=self.tenant_id, key_id="bench", role=role.value)

    def open(self) -> Vault:
        return open_vault(self.settings)

    def save(self) -> None:
        """Write the vault's bench secrets beside it (0600) so a cached copy can be reopened."""
        path = self.home / "bench-secrets.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"root_key": self.root_key, "tenant_id": self.tenant_id, "keys": self.keys}, out)

    @classmethod
    def load(cls, home: Path) -> BenchVault:
        data = json.loads((home / "bench-secrets.json").read_text(encoding="utf-8"))
        return cls(home, data["root_key"], data["tenant_id"], data["keys"])


def create_bench_vault(home: Path) -> BenchVault:
    """A fresh vault with one tenant, one key per role and a registered consent notice."""
    root_key = new_env_root_key()
    settings = Settings(home=home, key_provider="env", root_key=root_key)
    created = initialize_vault(settings, "bench")
    vault = created.vault
    keys = {Role.ADMIN.value: created.admin_key.secret}
    with vault.database.write() as session:
        now = vault.clock.now()
        for role in ROLES[1:]:
            keys[role.value] = issue_api_key(session, vault, created.tenant_id, role, now).secret
        _register_notice(session, vault, Actor(created.tenant_id, "bench", Role.CAPTURE.value), now)
    vault.database.dispose()
    bench = BenchVault(home, root_key, created.tenant_id, keys)
    bench.save()
    return bench


def _register_notice(session: Any, vault: Vault, actor: Actor, now: datetime) -> None:
    register_notice(session, vault, actor, NOTICE["id"], NOTICE["version"], NOTICE_TEXT, now)


def copy_bench_vault(source: Path, target: Path) -> BenchVault:
    """A working copy of a cached vault (the database is checkpointed, so one file is the whole store)."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    return BenchVault.load(target)


@contextlib.contextmanager
def serve(run: Run, bench: BenchVault, workers: int = 1, cpus: set[int] | bool | None = True) -> Iterator[int]:
    """`dialvault serve` on a free port, pinned to the server core (or `cpus`); yields the port."""
    port = free_port()
    pinned = run.server_cpus if cpus is True else (cpus or None)
    command = [sys.executable, "-m", "vault.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers)]
    with server_process(
        command,
        health_url=f"http://127.0.0.1:{port}/healthz",
        cpus=pinned,
        env=bench.env,
        log_path=run.workdir / f"dialvault-serve-{port}.log",
    ):
        yield port


def has_route(port: int, method: str, path: str) -> bool:
    spec = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=10, trust_env=False).json()
    return method.lower() in spec.get("paths", {}).get(path, {})


# -- contacts ----------------------------------------------------------------------------------


def measure_contacts(run: Run) -> None:
    bench = create_bench_vault(run.workdir / "vault-contacts")
    capture = bench.headers(Role.CAPTURE)
    singles = run.n(60_000, 10_000, 1_000)
    batch_size = 1000
    batches = run.n(150, 20, 3)
    with serve(run, bench) as port:
        requests = [http_request("POST", "/v1/contacts", {"phone": n}, capture) for n in phone_numbers(singles, 31)]
        result = load(run, port, requests, expect='"created":true')
        run.add_load(
            "dv_contact_single",
            "dialvault: register one contact per request (HTTP)",
            result,
            limited_by="the server core: uvicorn and the hot-route handler (no FastAPI request handling), the key "
            "(looked up once per process, confirmed live once per batch), phone validation, then a group-committed "
            "transaction in which the batch's registrations run together (one probe, DEK wrap + field encryption "
            "per number, one insert for all; an audit entry per created contact); one access-log line",
        )
        numbers = phone_numbers(batches * batch_size, 32)
        requests = [
            http_request(
                "POST", "/v1/contacts/batch", {"contacts": [{"phone": n} for n in numbers[i : i + batch_size]]}, capture
            )
            for i in range(0, len(numbers), batch_size)
        ]
        result = load(
            run, port, requests, expect='"rejected":0', connections=run.batch_connections, duration=run.batch_duration
        )
        run.add_load(
            "dv_contact_batch_http",
            f"dialvault: batch registration over HTTP ({batch_size:,} per request)",
            result,
            unit="contacts/s",
            per_request=batch_size,
            limited_by="the server core: JSON parsing + typed-dict validation of 1,000 items, phone "
            "validation, per-contact DEK wrap + field encryption, the insert, the JSON answer written out",
            details={"vs_bao_batch_encrypt": "see ratio_bao_batch"},
        )
    # Into empty tables, as the raw loop does: the same rows into the same-sized B-trees.
    count = run.n(200_000, 20_000, 1_000)
    rate = service_register_rate(create_bench_vault(run.workdir / "vault-contacts-service"), phone_numbers(count, 33))
    run.add(
        Figure(
            "dv_contact_batch_service",
            "dialvault: register_contacts in-process (service layer, batches of 1,000)",
            rate,
            "contacts/s",
            limited_by="SQLite inserts into the contacts table and its two indexes (a row twice the raw "
            "loop's: wrapped DEK, tenant, timestamps), two AES-GCM operations and phone validation per contact",
            details={"contacts": count, "store": "empty at the start, like the raw loop's"},
        )
    )


def service_register_rate(bench: BenchVault, numbers: Sequence[str], batch: int = 1000) -> float:
    vault = bench.open()
    actor = bench.actor()
    try:
        started = time.perf_counter()
        for start in range(0, len(numbers), batch):
            items = [(n, None) for n in numbers[start : start + batch]]
            with vault.database.write() as session:
                register_contacts(session, vault, actor, items, vault.clock.now())
        return len(numbers) / (time.perf_counter() - started)
    finally:
        vault.database.dispose()


# -- consents ----------------------------------------------------------------------------------


def consent_item(phone: str, purpose: str = "marketing") -> dict[str, Any]:
    return {"phone": phone, "purpose": purpose, "channels": ["voice"], "notice": NOTICE, "method": "api"}


def measure_consents(run: Run) -> None:
    bench = create_bench_vault(run.workdir / "vault-consents")
    capture = bench.headers(Role.CAPTURE)
    batch_size = run.n(1000, 1000, 100)
    batches = run.n(120, 6, 2)
    with serve(run, bench) as port:
        if not has_route(port, "post", "/v1/consents/batch"):
            run.notes.append("consent capture batch: route POST /v1/consents/batch not present; skipped")
            return
        numbers = phone_numbers(batches * batch_size, 41)
        requests = [
            http_request(
                "POST", "/v1/consents/batch", {"items": [consent_item(n) for n in numbers[i : i + batch_size]]}, capture
            )
            for i in range(0, len(numbers), batch_size)
        ]
        result = load(
            run, port, requests, expect='"rejected":0', connections=run.batch_connections, duration=run.batch_duration
        )
        run.add_load(
            "dv_consent_batch_http",
            f"dialvault: consent capture batch over HTTP ({batch_size:,} per request, new numbers)",
            result,
            unit="consents/s",
            per_request=batch_size,
            limited_by="the server core (~125 µs CPU per item) and SQLite's writes: per item a new contact (two "
            "AES-GCM, blind index), consent state + event rows (receipt kept as a MAC; signed when read); the "
            "contact-keyed indexes take a batch's rows in one region (its ids share a random group), the blind "
            "index still a random page per item (the raw loop has one such index); JSON in and out",
        )


# -- import ------------------------------------------------------------------------------------


def write_import_csv(path: Path, rows: int) -> None:
    """The consent engineer's generator: mixed purposes, methods, channels; 10% national format."""
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gen_import_csv.py"), str(rows), str(path)], cwd=ROOT, check=True
    )


def run_import(run: Run, bench: BenchVault, csv_path: Path) -> tuple[float, float, str]:
    """(seconds, peak RSS MiB, last output line) of `dialvault import FILE` as a child process."""
    command = [sys.executable, "-m", "vault.cli", "import", str(csv_path)]
    started = time.perf_counter()
    log = run.workdir / f"import-{csv_path.stem}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **bench.env, "COLUMNS": "120"}, stdout=out, stderr=subprocess.STDOUT
        )
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    text = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    if process.returncode != 0:
        raise RuntimeError(f"dialvault import failed ({process.returncode}): {text[-3:]}")
    return elapsed, usage.ru_maxrss / 1024, text[-1] if text else ""


def cli_start_seconds() -> float:
    """The fastest of three loads of the CLI's modules in a fresh interpreter: the part of an import's wall
    time spent before it reads a row."""
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import vault.cli._import"], cwd=ROOT, check=True)
        timings.append(time.perf_counter() - started)
    return min(timings)


def measure_import(run: Run) -> None:
    sizes = [500] if run.tiny else [3_000] if run.quick else [100_000, 1_000_000]
    points: list[dict[str, float]] = []
    start = cli_start_seconds()
    for size in sizes:
        if points and size / points[-1]["rows_per_s"] > run.import_budget_s:
            projected = size / points[-1]["rows_per_s"]
            run.notes.append(
                f"import of {size:,} rows skipped: at {points[-1]['rows_per_s']:,.0f} rows/s it would take "
                f"~{projected / 60:.0f} min, over the {run.import_budget_s / 60:.0f} min budget (--import-budget)"
            )
            continue
        bench = create_bench_vault(run.workdir / f"vault-import-{size}")
        csv_path = run.workdir / f"import-{size}.csv"
        write_import_csv(csv_path, size)
        seconds, rss, summary = run_import(run, bench, csv_path)
        csv_path.unlink()
        rate = size / seconds
        points.append({"rows": size, "rows_per_s": rate, "peak_rss_mib": rss})
        run.add(
            Figure(
                f"dv_import_{size}",
                f"dialvault import: {size:,} rows (CSV, consents for new numbers)",
                rate,
                "rows/s",
                limited_by="the loading process: CSV parsing, contact + consent state + event rows per line (a "
                "second process parses each line and seals its contact row ahead); SQLite's writes: "
                "a random-key index (the blind index) makes each commit rewrite most of its "
                "pages, and it slows as the tables outgrow the page cache (the contact-keyed indexes take each "
                "part's rows in one region); 20,000 rows per transaction (the default); wall time includes start-up "
                f"({start:.1f} s to load the CLI's modules, measured in this run) and the final WAL checkpoint (~1 s "
                "at 100k rows)",
                details={
                    "rows": size,
                    "peak_rss_mib": round(rss, 1),
                    "summary": summary,
                    "cli_start_s": round(start, 2),
                },
            )
        )
        shutil.rmtree(bench.home, ignore_errors=True)
        _raw_loop_at(run, size)
    run.series["import"] = points


def _raw_loop_at(run: Run, rows: int) -> None:
    """The raw loop over as many rows as an import loaded: its blind index outgrows the page cache as theirs do."""
    path = run.workdir / f"raw-{rows}.db"
    rate, connection, _, _ = raw_insert_rate(path, phone_numbers(rows, seed=12))
    connection.close()
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    run.add(
        Figure(
            f"raw_insert_{rows}",
            f"raw loop at the import's size: {rows:,} rows",
            rate,
            "rows/s",
            limited_by="as the raw loop; its one random-key index (the blind index) outgrows the page cache with the "
            "table",
            details={"rows": rows},
        )
    )
