"""POST /v1/contacts and /v1/contacts/batch."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import TenantKeys
from vault.services import Role


def test_registering_a_number_returns_a_contact_id(client: TestClient, acme: TenantKeys) -> None:
    response = client.post("/v1/contacts", json={"phone": "+8613800138000"}, headers=acme.headers(Role.CAPTURE))
    assert response.status_code == 201
    assert response.json()["contact_id"].startswith("ct_")


def test_same_number_in_any_format_gives_the_same_contact(client: TestClient, acme: TenantKeys) -> None:
    headers = acme.headers(Role.CAPTURE)
    first = client.post("/v1/contacts", json={"phone": "+86 138 0013 8000"}, headers=headers)
    second = client.post("/v1/contacts", json={"phone": "13800138000", "region": "CN"}, headers=headers)
    assert second.status_code == 200
    assert first.json()["contact_id"] == second.json()["contact_id"]


def test_invalid_number_is_422_and_not_echoed(client: TestClient, acme: TenantKeys) -> None:
    response = client.post("/v1/contacts", json={"phone": "+86123"}, headers=acme.headers(Role.CAPTURE))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_phone_number"
    assert response.json()["error"]["field"] == "phone"
    assert "123" not in response.text


def test_national_number_without_region_is_invalid(client: TestClient, acme: TenantKeys) -> None:
    response = client.post("/v1/contacts", json={"phone": "13800138000"}, headers=acme.headers(Role.CAPTURE))
    assert response.json()["error"]["code"] == "invalid_phone_number"


def test_malformed_body_names_the_field_without_echoing_input(client: TestClient, acme: TenantKeys) -> None:
    response = client.post(
        "/v1/contacts",
        json={"phone": "+8613800138000", "region": "CHINA"},
        headers=acme.headers(Role.CAPTURE),
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "region"
    assert "13800138000" not in response.text


def test_batch_registers_good_items_and_reports_bad_ones_by_index(client: TestClient, acme: TenantKeys) -> None:
    body = {
        "contacts": [
            {"phone": "+8613800138000"},
            {"phone": "bogus"},
            {"phone": "+14155550123"},
            {"phone": "+8613800138000"},
        ]
    }
    response = client.post("/v1/contacts/batch", json=body, headers=acme.headers(Role.CAPTURE))
    assert response.status_code == 200
    out = response.json()
    assert (out["created"], out["existing"], out["rejected"]) == (2, 1, 1)
    assert out["results"][1]["error"]["code"] == "invalid_phone_number"
    assert out["results"][0]["contact_id"] == out["results"][3]["contact_id"]


def test_same_number_in_two_tenants_gives_two_contacts(
    client: TestClient, acme: TenantKeys, globex: TenantKeys
) -> None:
    a = client.post("/v1/contacts", json={"phone": "+8613800138000"}, headers=acme.headers(Role.CAPTURE))
    b = client.post("/v1/contacts", json={"phone": "+8613800138000"}, headers=globex.headers(Role.CAPTURE))
    assert b.status_code == 201
    assert a.json()["contact_id"] != b.json()["contact_id"]
