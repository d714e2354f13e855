"""Every route is deny-by-default: it names the roles it admits, refuses others with 403, strangers with 401."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.conftest import TenantKeys
from vault.api import create_app
from vault.services import Role, Vault

PUBLIC = {("GET", "/healthz"), ("GET", "/v1/.well-known/jwks.json")}


def _routes(vault: Vault) -> Iterator[tuple[str, str, frozenset[Role] | None]]:
    for route in create_app(vault).routes:
        if not isinstance(route, APIRoute) or not route.path.startswith(("/v1", "/healthz")):
            continue
        allowed: frozenset[Role] | None = None
        for dependency in route.dependant.dependencies:
            roles = getattr(dependency.call, "allowed_roles", None)
            if roles is not None:
                allowed = roles
        for method in sorted(route.methods or ()):
            yield method, route.path, allowed


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "xx_unknown", path)


def test_every_non_public_route_declares_its_roles(vault: Vault) -> None:
    missing = [(m, p) for m, p, allowed in _routes(vault) if allowed is None and (m, p) not in PUBLIC]
    assert not missing


def test_every_non_public_route_answers_401_without_a_key(vault: Vault, client: TestClient) -> None:
    for method, path, allowed in _routes(vault):
        if allowed is None:
            continue
        response = client.request(method, _concrete(path), json={})
        assert response.status_code == 401, (method, path)
        assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize("role", list(Role))
def test_every_route_refuses_roles_it_does_not_admit(
    vault: Vault, client: TestClient, acme: TenantKeys, role: Role
) -> None:
    for method, path, allowed in _routes(vault):
        if allowed is None or role in allowed:
            continue
        response = client.request(method, _concrete(path), json={}, headers=acme.headers(role))
        assert response.status_code == 403, (method, path, role)
