"""Text with a NUL character is refused as bad input, naming the field, on every store alike
(PostgreSQL cannot keep it in text; SQLite would have stored it)."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.conftest import TenantKeys
from vault.api import routes
from vault.api._routing import TextRoute
from vault.services import Role


def test_a_notice_text_with_a_nul_character_is_422_naming_the_field(client: TestClient, acme: TenantKeys) -> None:
    response = client.post(
        "/v1/notices", json={"id": "n", "version": "v1", "text": "a\u0000b"}, headers=acme.headers(Role.ADMIN)
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_text"
    assert response.json()["error"]["field"] == "text"


def test_a_nul_character_deep_in_a_batch_is_named_by_its_path(client: TestClient, acme: TenantKeys) -> None:
    items = [{"phone": "+8613800138000", "purpose": "marketing", "language": "zh\u0000"}]
    response = client.post("/v1/consents/batch", json={"items": items}, headers=acme.headers(Role.CAPTURE))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "items.0.language"


def test_a_hot_route_refuses_a_nul_character_like_the_others(client: TestClient, acme: TenantKeys) -> None:
    body = {"handle": "dh_\u0000", "caller_line": "+861012345678"}
    response = client.post("/v1/dial/authorize", json=body, headers=acme.headers(Role.GATEWAY))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "handle"


def test_a_backslash_followed_by_u0000_is_ordinary_text(client: TestClient, acme: TenantKeys) -> None:
    response = client.post(
        "/v1/notices", json={"id": "n", "version": "v1", "text": "see \\u0000"}, headers=acme.headers(Role.ADMIN)
    )
    assert response.status_code in (200, 201), response.text


def test_every_api_route_refuses_nul_characters() -> None:
    modules = [importlib.import_module(f"vault.api.routes.{m.name}") for m in pkgutil.iter_modules(routes.__path__)]
    api_routes = [r for module in modules for r in module.router.routes if isinstance(r, APIRoute)]
    assert api_routes and all(isinstance(r, TextRoute) for r in api_routes)
