"""API keys: 401 for missing/unknown/revoked keys, 403 for a role a route does not admit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantKeys
from vault.services import Role

CONTACT = {"phone": "+8613800138000"}


def test_missing_key_is_401(client: TestClient) -> None:
    response = client.post("/v1/contacts", json=CONTACT)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_unknown_key_is_401(client: TestClient) -> None:
    response = client.post("/v1/contacts", json=CONTACT, headers={"Authorization": "Bearer dvk_" + "A" * 43})
    assert response.status_code == 401


def test_non_bearer_scheme_is_401(client: TestClient, acme: TenantKeys) -> None:
    response = client.post("/v1/contacts", json=CONTACT, headers={"Authorization": f"Basic {acme.issue(Role.CAPTURE)}"})
    assert response.status_code == 401


@pytest.mark.parametrize("role", [Role.ADMIN, Role.DIALER, Role.GATEWAY, Role.PRIVACY, Role.AUDITOR])
def test_wrong_role_is_403(client: TestClient, acme: TenantKeys, role: Role) -> None:
    response = client.post("/v1/contacts", json=CONTACT, headers=acme.headers(role))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_role"


def test_admin_issues_a_key_that_works_for_its_role(client: TestClient, acme: TenantKeys) -> None:
    created = client.post("/v1/keys", json={"role": "capture"}, headers=acme.headers(Role.ADMIN))
    assert created.status_code == 201
    key = created.json()["key"]
    assert client.post("/v1/contacts", json=CONTACT, headers={"Authorization": f"Bearer {key}"}).status_code == 201


def test_revoked_key_is_401(client: TestClient, acme: TenantKeys) -> None:
    created = client.post("/v1/keys", json={"role": "capture"}, headers=acme.headers(Role.ADMIN)).json()
    assert client.delete(f"/v1/keys/{created['key_id']}", headers=acme.headers(Role.ADMIN)).status_code == 204
    response = client.post("/v1/contacts", json=CONTACT, headers={"Authorization": f"Bearer {created['key']}"})
    assert response.status_code == 401


def test_a_key_revoked_after_the_server_has_used_it_is_401_at_once(client: TestClient, acme: TenantKeys) -> None:
    created = client.post("/v1/keys", json={"role": "capture"}, headers=acme.headers(Role.ADMIN)).json()
    headers = {"Authorization": f"Bearer {created['key']}"}
    assert client.post("/v1/contacts", json=CONTACT, headers=headers).status_code == 201
    assert client.delete(f"/v1/keys/{created['key_id']}", headers=acme.headers(Role.ADMIN)).status_code == 204
    for _ in range(2):  # refused in the write transaction, then by the lookup
        response = client.post("/v1/contacts", json={"phone": "+8613800138009"}, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"
    fresh = client.post("/v1/contacts", json={"phone": "+8613800138009"}, headers=acme.headers(Role.CAPTURE))
    assert fresh.json()["created"] is True  # the refused requests wrote nothing


def test_a_key_the_server_has_used_is_still_403_where_its_role_may_not_go(client: TestClient, acme: TenantKeys) -> None:
    assert client.post("/v1/contacts", json=CONTACT, headers=acme.headers(Role.CAPTURE)).status_code == 201
    body = {"handle": "dh_" + "a" * 40, "caller_line": "+8610123456789"}
    response = client.post("/v1/dial/authorize", json=body, headers=acme.headers(Role.CAPTURE))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_role"


def test_only_admin_issues_keys(client: TestClient, acme: TenantKeys) -> None:
    assert client.post("/v1/keys", json={"role": "admin"}, headers=acme.headers(Role.CAPTURE)).status_code == 403


def test_health_needs_no_key(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_unknown_route_uses_the_error_envelope(client: TestClient) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
