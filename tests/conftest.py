"""Shared fixtures: a real vault on SQLite in a temp dir, an HTTP client, keys per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from vault.api import create_app
from vault.clock import FixedClock
from vault.config import Settings
from vault.services import InitializedVault, Role, Vault, initialize_vault
from vault.services.bootstrap import new_env_root_key
from vault.services.tenants import create_tenant, issue_api_key

START = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # a Monday, 12:00 in Shanghai


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "vault", key_provider="env", root_key=new_env_root_key())


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
