"""Shared fixtures: a real vault on a real store, an HTTP client, keys per role.

The store is SQLite in a temp dir by default. `--store=postgres` (or
`DIALVAULT_TEST_STORE=postgres`) runs the same tests on PostgreSQL: one throwaway
cluster per session (tests/servers.py), one template database migrated once, and a
fresh database copied from it for every test (`CREATE DATABASE … TEMPLATE`, ~50 ms).
In that mode only the tests that use the store (the `settings` fixture, directly or
through `vault`, `client`, …) are collected; the others already ran on the SQLite pass.
Tests that inspect the SQLite files carry `@pytest.mark.sqlite_only` and skip there
(tests/postgres holds their PostgreSQL counterparts, and always runs on PostgreSQL).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests import servers
from vault.api import create_app
from vault.clock import FixedClock
from vault.config import Settings
from vault.services import InitializedVault, Role, Vault, initialize_vault
from vault.services.bootstrap import new_env_root_key
from vault.services.tenants import create_tenant, issue_api_key

START = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # a Monday, 12:00 in Shanghai

STORES = ("sqlite", "postgres")
_TEMPLATE_DB = "dialvault_template"
_database_numbers = itertools.count(1)
_server_versions: dict[int, int] = {}
_POSTGRES_TESTS = Path(__file__).resolve().parent / "postgres"


# -- store selection -----------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store",
        choices=STORES,
        default=os.environ.get("DIALVAULT_TEST_STORE", "sqlite") or "sqlite",
        help="the store the `settings` fixture points at (default $DIALVAULT_TEST_STORE or sqlite)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only(reason): inspects SQLite files; skipped on other stores")
    if config.getoption("--store") not in STORES:
        raise pytest.UsageError(f"--store must be one of {', '.join(STORES)}")


def pytest_report_header(config: pytest.Config) -> str:
    return f"dialvault test store: {config.getoption('--store')}"


def store_of(config: pytest.Config) -> str:
    """The store this session's `settings` fixture points at: "sqlite" or "postgres"."""
    return str(config.getoption("--store"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    store = store_of(config)
    if store == "sqlite":
        return
    selected: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        # tests/postgres always runs on PostgreSQL: it already ran in the default pass.
        uses_store = "settings" in getattr(item, "fixturenames", ()) and _POSTGRES_TESTS not in item.path.parents
        (selected if uses_store else deselected).append(item)
        marker = item.get_closest_marker("sqlite_only")
        if uses_store and marker is not None:
            reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "inspects the SQLite files")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason} (store: {store})"))
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[servers.PostgresServer]:
    """One throwaway PostgreSQL cluster for the session (skips locally, fails under CI=true, if missing)."""
    yield from servers.postgres_fixture()


@pytest.fixture(scope="session")
def postgres_template(postgres_server: servers.PostgresServer) -> str:
    """A database migrated to head once; every test's database is a copy of it."""
    from vault.storage import Database, upgrade_schema

    database = Database(postgres_server.create_database(_TEMPLATE_DB))
    try:
        upgrade_schema(database)
    finally:
        database.dispose()  # CREATE DATABASE … TEMPLATE needs the template to have no sessions
    return _TEMPLATE_DB


def _admin_execute(server: servers.PostgresServer, statement: str) -> int:
    import psycopg

    with psycopg.connect(server.dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute(statement.encode())
        return int(conn.info.server_version)


@pytest.fixture
def postgres_database(postgres_server: servers.PostgresServer, postgres_template: str) -> Iterator[str]:
    """URL of a fresh database, migrated to head, for this test only (dropped afterwards)."""
    server, template = postgres_server, postgres_template
    name = f"dialvault_t{next(_database_numbers)}"
    # PostgreSQL 15+: FILE_COPY copies the template's few MB directly, ~3x faster than WAL_LOG here.
    if server.port not in _server_versions:
        _server_versions[server.port] = _admin_execute(server, "SELECT 1")
    strategy = " STRATEGY FILE_COPY" if _server_versions[server.port] >= 150000 else ""
    _admin_execute(server, f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}')
    try:
        yield server.url_for(name)
    finally:
        _admin_execute(server, f'DROP DATABASE "{name}" WITH (FORCE)')


# -- the vault -----------------------------------------------------------------------------


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    home = tmp_path / "vault"
    if store_of(request.config) == "sqlite":
        return Settings(home=home, key_provider="env", root_key=new_env_root_key())
    url: str = request.getfixturevalue("postgres_database")
    return Settings(home=home, database_url=url, key_provider="env", root_key=new_env_root_key())


@pytest.fixture
def store_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point the CLI (run in this process) at the test's store and key provider through the environment."""
    monkeypatch.setenv("DIALVAULT_HOME", str(settings.home))
    if settings.database_url is None:
        monkeypatch.delenv("DIALVAULT_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("DIALVAULT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DIALVAULT_KEY_PROVIDER", settings.key_provider)
    if settings.root_key is not None:
        monkeypatch.setenv("DIALVAULT_ROOT_KEY", settings.root_key.get_secret_value())
    return settings


@pytest.fixture
def initialized(settings: Settings, clock: FixedClock) -> Iterator[InitializedVault]:
    created = initialize_vault(settings, "acme", clock)
    yield created
    created.vault.database.dispose()


@pytest.fixture
def vault(initialized: InitializedVault) -> Vault:
    return initialized.vault


@pytest.fixture
def client(vault: Vault) -> Iterator[TestClient]:
    with TestClient(create_app(vault), raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass(frozen=True)
class TenantKeys:
    tenant_id: str
    admin: str
    issue: Callable[[Role], str]

    def headers(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issue(role)}"}


def _keys_for(vault: Vault, tenant_id: str, admin: str) -> TenantKeys:
    issued: dict[Role, str] = {Role.ADMIN: admin}

    def issue(role: Role) -> str:
        if role not in issued:
            with vault.database.write() as session:
                issued[role] = issue_api_key(session, vault, tenant_id, role, vault.clock.now()).secret
        return issued[role]

    return TenantKeys(tenant_id, admin, issue)


@pytest.fixture
def acme(initialized: InitializedVault) -> TenantKeys:
    return _keys_for(initialized.vault, initialized.tenant_id, initialized.admin_key.secret)


@pytest.fixture
def globex(vault: Vault) -> TenantKeys:
    """A second tenant, for isolation tests."""
    with vault.database.write() as session:
        tenant = create_tenant(session, vault, "globex", vault.clock.now())
        admin = issue_api_key(session, vault, tenant.id, Role.ADMIN, vault.clock.now()).secret
    return _keys_for(vault, tenant.id, admin)
