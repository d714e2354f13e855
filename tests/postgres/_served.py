"""A real `dialvault serve --workers N` on PostgreSQL, and a client that records when each answer came.

Used by the concurrency tests: the vault is initialized in this process (env key provider), then the
server runs as a subprocess with several uvicorn workers on a free loopback port.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from tests.servers import PostgresServer, free_port
from vault.config import SHIPPED_POLICY_DIR, Settings
from vault.services import Role, initialize_vault
from vault.services.bootstrap import new_env_root_key
from vault.services.tenants import issue_api_key
from vault.storage import Database
from vault.storage import tables as t

__all__ = ["Call", "Served", "serve_on_postgres"]

CALLER_LINE = "+862161234567"
NOTICE = {"id": "mkt", "version": "v1", "text": "We call about offers and surveys. Say STOP to opt out."}
_START_TIMEOUT = 90.0  # four workers importing the app on a loaded 2-core machine


@dataclass(frozen=True)
class Call:
    """One HTTP exchange, timed on this machine's monotonic clock."""

    sent: float
    received: float
    status: int
    body: dict[str, Any]

    @property
    def allowed(self) -> bool:
        return self.status == 200 and self.body.get("decision") == "allow"


@dataclass
class Served:
    base_url: str
    database_url: str
    tenant_id: str
    keys: dict[Role, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
        self.client = httpx.Client(base_url=self.base_url, timeout=60.0, limits=limits, trust_env=False)

    def call(self, role: Role, path: str, body: dict[str, Any]) -> Call:
        sent = time.monotonic()
        response = self.client.post(path, json=body, headers={"Authorization": f"Bearer {self.keys[role]}"})
        received = time.monotonic()
        try:
            payload = response.json()
        except ValueError:
            payload = {"raw": response.text}
        return Call(sent, received, response.status_code, payload if isinstance(payload, dict) else {})

    def ok(self, role: Role, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.call(role, path, body)
        assert answer.status in (200, 201), (path, answer.status, answer.body)
        return answer.body

    # -- set-up through the public API ---------------------------------------------------------

    def consented_contact(self, phone: str, purpose: str) -> str:
        body = {
            "phone": phone,
            "purpose": purpose,
            "channels": ["voice"],
            "notice": {"id": NOTICE["id"], "version": NOTICE["version"]},
            "method": "web_form",
            "jurisdiction": "CN",
            "language": "zh",
        }
        return str(self.ok(Role.CAPTURE, "/v1/consents", body)["contact_id"])

    def campaign(self, purpose: str) -> str:
        body = {"name": f"{purpose} run", "purpose": purpose, "channel": "voice", "caller_lines": [CALLER_LINE]}
        return str(self.ok(Role.DIALER, "/v1/campaigns", body)["campaign_id"])

    def handle(self, campaign_id: str, contact_id: str) -> str:
        answer = self.ok(Role.DIALER, f"/v1/campaigns/{campaign_id}/handles", {"contact_ids": [contact_id]})
        assert not answer["excluded"], answer["excluded"]
        return str(answer["handles"][0]["handle"])

    def authorize(self, handle: str) -> Call:
        return self.call(Role.GATEWAY, "/v1/dial/authorize", {"handle": handle, "caller_line": CALLER_LINE})

    # -- the ledger, read straight from the store ----------------------------------------------

    def ledger(self) -> list[tuple[int, str, str | None, str | None, dict[str, Any]]]:
        """(seq, action, target_id, reason, details) of every audit entry of the tenant, in seq order."""
        database = Database(self.database_url, pool_size=1)
        try:
            with database.read() as session:
                e = t.audit_entries.c
                rows = session.execute(
                    select(e.seq, e.action, e.target_id, e.reason, e.details)
                    .where(e.tenant_id == self.tenant_id)
                    .order_by(e.seq)
                ).all()
        finally:
            database.dispose()
        return [(int(r.seq), str(r.action), r.target_id, r.reason, dict(r.details or {})) for r in rows]

    def stop(self) -> None:
        self.client.close()
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)  # uvicorn's supervisor stops its workers
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # our own process group (start_new_session)
            process.wait(10)


def _policy_dir(target: Path) -> Path:
    """The shipped policies, with the default calling window opened to the whole day.

    The server runs on the real clock, so the shipped 08:00-21:00 window would make these tests
    depend on the hour they run at. Caps and every other rule stay as shipped.
    """
    shutil.copytree(SHIPPED_POLICY_DIR, target)
    default = target / "default.toml"
    text = default.read_text(encoding="utf-8")
    opened = text.replace('periods = [["08:00", "21:00"]]', 'periods = [["00:00", "24:00"]]', 1)
    assert opened != text, "policies/default.toml no longer has the window this harness opens"
    default.write_text(opened, encoding="utf-8")
    return target


def _wait_healthy(served: Served) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while True:
        process = served.process
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"dialvault serve exited ({process.returncode}):\n{_tail(served.log_path)}")
        try:
            if served.client.get("/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"dialvault serve not healthy after {_START_TIMEOUT:g} s:\n{_tail(served.log_path)}")
        time.sleep(0.2)


def _tail(path: Path) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-30:])
    except OSError:
        return "(no log)"


@contextmanager
def serve_on_postgres(postgres: PostgresServer, workdir: Path, *, workers: int = 4) -> Iterator[Served]:
    """Initialize a vault on a new database, run `dialvault serve --workers N` on it, stop it on exit."""
    database_url = postgres.create_database(f"served_{os.urandom(4).hex()}")
    root_key = new_env_root_key()
    policy_dir = _policy_dir(workdir / "policies")
    settings = Settings(
        home=workdir / "home",
        database_url=database_url,
        key_provider="env",
        root_key=root_key,
        policy_dir=policy_dir,
    )
    created = initialize_vault(settings, "acme")
    keys = {Role.ADMIN: created.admin_key.secret}
    with created.vault.database.write() as session:
        for role in (Role.CAPTURE, Role.DIALER, Role.GATEWAY, Role.PRIVACY, Role.AUDITOR):
            keys[role] = issue_api_key(
                session, created.vault, created.tenant_id, role, created.vault.clock.now()
            ).secret
    created.vault.database.dispose()

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALVAULT_")}
    env.update(
        DIALVAULT_HOME=str(settings.home),
        DIALVAULT_KEY_PROVIDER="env",
        DIALVAULT_ROOT_KEY=root_key,
        DIALVAULT_POLICY_DIR=str(policy_dir),
        DIALVAULT_LOG_LEVEL="WARNING",
    )
    command = [
        sys.executable, "-m", "vault.cli", "serve", "--workers", str(workers), "--database-url", database_url,
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    served = Served(f"http://127.0.0.1:{port}", database_url, created.tenant_id, keys, workdir / "serve.log")
    with served.log_path.open("ab") as log:
        served.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        _wait_healthy(served)
        notice = {**NOTICE, "policy_url": "https://acme.example/privacy"}
        served.ok(Role.ADMIN, "/v1/notices", notice)
        served.ok(Role.ADMIN, "/v1/caller-lines", {"number": CALLER_LINE, "whitelist_status": "approved"})
        yield served
    finally:
        served.stop()


class Hammer:
    """Threads that authorize one handle in a loop until stopped, keeping every answer."""

    def __init__(self, served: Served, handle: str, threads: int) -> None:
        self._served = served
        self._handle = handle
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.calls: list[Call] = []
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        while not self._stop.is_set():
            answer = self._served.authorize(self._handle)
            with self._lock:
                self.calls.append(answer)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def allowed(self) -> int:
        with self._lock:
            return sum(1 for c in self.calls if c.allowed)

    def wait_for_allows(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.allowed() < count:
            assert time.monotonic() < deadline, f"fewer than {count} allows in {timeout:g} s: {self.calls[-3:]}"
            time.sleep(0.005)

    def stop(self) -> list[Call]:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)
        with self._lock:
            return list(self.calls)
