"""POST /v1/suppressions, /v1/suppressions/remove and is_suppressed."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import delete

from tests.conftest import START, TenantKeys
from tests.consent.conftest import PHONE
from vault.services import Role, Vault
from vault.services.consent import is_suppressed
from vault.storage import tables as t


def _blind(vault: Vault, tenant_id: str, e164: str = PHONE) -> bytes:
    with vault.database.read() as session:
        return vault.keyrings.get(session, tenant_id).blind_index(e164)


def _suppressed(vault: Vault, tenant_id: str) -> bool:
    with vault.database.read() as session:
        return is_suppressed(session, tenant_id, _blind(vault, tenant_id), START)


def test_suppressing_a_number_is_201_then_200(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    body = {"phone": PHONE, "reason": "customer_request"}
    first = client.post("/v1/suppressions", json=body, headers=acme.headers(Role.CAPTURE))
    second = client.post(
        "/v1/suppressions", json={**body, "phone": "13800138000", "region": "CN"}, headers=acme.headers(Role.PRIVACY)
    )
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["suppression_id"] == second.json()["suppression_id"]
    assert _suppressed(vault, acme.tenant_id)


def test_suppression_is_tenant_scoped(client: TestClient, acme: TenantKeys, globex: TenantKeys, vault: Vault) -> None:
    client.post("/v1/suppressions", json={"phone": PHONE, "reason": "complaint"}, headers=acme.headers(Role.CAPTURE))
    assert not _suppressed(vault, globex.tenant_id)


def test_suppression_outlives_erasure_of_the_contact(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    client.post("/v1/contacts", json={"phone": PHONE}, headers=acme.headers(Role.CAPTURE))
    client.post(
        "/v1/suppressions", json={"phone": PHONE, "reason": "customer_request"}, headers=acme.headers(Role.CAPTURE)
    )
    with vault.database.write() as session:
        session.execute(delete(t.contacts))
    assert _suppressed(vault, acme.tenant_id)


def test_reason_must_be_a_code(client: TestClient, acme: TenantKeys) -> None:
    response = client.post(
        "/v1/suppressions", json={"phone": PHONE, "reason": "Call 5551234567!"}, headers=acme.headers(Role.CAPTURE)
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_reason"


def test_dialer_cannot_suppress(client: TestClient, acme: TenantKeys) -> None:
    response = client.post("/v1/suppressions", json={"phone": PHONE, "reason": "x"}, headers=acme.headers(Role.DIALER))
    assert response.status_code == 403


def test_privacy_can_remove_a_suppression_with_a_reason(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    client.post(
        "/v1/suppressions", json={"phone": PHONE, "reason": "customer_request"}, headers=acme.headers(Role.CAPTURE)
    )
    response = client.post(
        "/v1/suppressions/remove", json={"phone": PHONE, "reason": "added_in_error"}, headers=acme.headers(Role.PRIVACY)
    )
    assert response.status_code == 200
    assert not _suppressed(vault, acme.tenant_id)


def test_capture_cannot_remove_a_suppression(client: TestClient, acme: TenantKeys) -> None:
    response = client.post(
        "/v1/suppressions/remove", json={"phone": PHONE, "reason": "oops"}, headers=acme.headers(Role.CAPTURE)
    )
    assert response.status_code == 403


def test_removing_another_tenants_suppression_is_404(client: TestClient, acme: TenantKeys, globex: TenantKeys) -> None:
    client.post("/v1/suppressions", json={"phone": PHONE, "reason": "complaint"}, headers=acme.headers(Role.CAPTURE))
    response = client.post(
        "/v1/suppressions/remove", json={"phone": PHONE, "reason": "oops"}, headers=globex.headers(Role.PRIVACY)
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_suppressed"
