"""POST /v1/contacts and /v1/contacts/batch."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
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


def _batch(client: TestClient, keys: TenantKeys, numbers: list[str]) -> dict[str, Any]:
    response = client.post(
        "/v1/contacts/batch", json={"contacts": [{"phone": n} for n in numbers]}, headers=keys.headers(Role.CAPTURE)
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _numbers(start: int, count: int) -> list[str]:
    return [f"+86138001{i:05d}" for i in range(start, start + count)]


def test_batch_results_list_every_field_of_every_item(client: TestClient, acme: TenantKeys) -> None:
    out = _batch(client, acme, ["+8613800138000", "bogus"])
    assert set(out) == {"results", "created", "existing", "rejected"}
    good, bad = out["results"]
    assert good == {"index": 0, "contact_id": good["contact_id"], "created": True, "error": None}
    assert bad["contact_id"] is None and bad["created"] is None
    assert bad["error"] == {
        "code": "invalid_phone_number",
        "message": bad["error"]["message"],
        "field": "contacts.1.phone",
    }


def test_batch_of_known_numbers_returns_their_contacts_as_existing(client: TestClient, acme: TenantKeys) -> None:
    first = _batch(client, acme, _numbers(0, 40))
    again = _batch(client, acme, _numbers(0, 43))
    assert (again["created"], again["existing"]) == (3, 40)
    assert [r["contact_id"] for r in again["results"][:40]] == [r["contact_id"] for r in first["results"]]
    assert [r["created"] for r in again["results"]] == [False] * 40 + [True] * 3


def test_batch_whose_first_numbers_are_new_still_finds_the_known_ones(client: TestClient, acme: TenantKeys) -> None:
    known = _batch(client, acme, _numbers(30, 30))
    out = _batch(client, acme, _numbers(0, 60))
    assert (out["created"], out["existing"]) == (30, 30)
    assert [r["contact_id"] for r in out["results"][30:]] == [r["contact_id"] for r in known["results"]]
    assert len({r["contact_id"] for r in out["results"]}) == 60


def test_batch_with_a_few_known_numbers_among_new_ones_reports_each_correctly(
    client: TestClient, acme: TenantKeys
) -> None:
    numbers = _numbers(0, 60)
    known = _batch(client, acme, [numbers[31], numbers[59]])
    out = _batch(client, acme, numbers)
    assert (out["created"], out["existing"]) == (58, 2)
    assert [out["results"][i]["contact_id"] for i in (31, 59)] == [r["contact_id"] for r in known["results"]]
    assert [i for i, r in enumerate(out["results"]) if not r["created"]] == [31, 59]


def _register_together(client: TestClient, requests: list[tuple[str, dict[str, str]]]) -> list[httpx.Response]:
    """Single registrations sent at once: the group commit runs them in one batch, in one call."""

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vault") as http:
            posts = [http.post("/v1/contacts", json={"phone": phone}, headers=headers) for phone, headers in requests]
            return await asyncio.gather(*posts)

    return asyncio.run(send_all())


def test_single_registrations_sent_together_are_each_answered_as_if_alone(
    client: TestClient, acme: TenantKeys, globex: TenantKeys
) -> None:
    acme_key, globex_key = acme.headers(Role.CAPTURE), globex.headers(Role.CAPTURE)
    responses = _register_together(
        client,
        [
            ("+8613800138000", acme_key),
            ("+14155550123", acme_key),
            ("+8613800138000", acme_key),
            ("+86123", acme_key),
            ("+8613800138000", globex_key),
        ],
    )
    statuses = [r.status_code for r in responses]
    # The number sent twice: whichever of the two reaches the batch first creates it (on PostgreSQL the key
    # lookups run in threads, so the order they reach the batch in is not the order they were sent in).
    assert sorted((statuses[0], statuses[2])) == [200, 201]
    assert [statuses[1], statuses[3], statuses[4]] == [201, 422, 201]
    ids = [r.json().get("contact_id") for r in responses]
    assert ids[0] == ids[2]
    assert len({ids[0], ids[1], ids[4]}) == 3


def test_single_registrations_sent_together_leave_one_audit_entry_per_created_contact(
    client: TestClient, acme: TenantKeys
) -> None:
    key = acme.headers(Role.CAPTURE)
    _register_together(client, [("+8613800138000", key), ("+8613800138001", key), ("+8613800138000", key)])
    entries = client.get("/v1/audit/entries", headers=acme.headers(Role.AUDITOR)).json()
    assert [e["action"] for e in entries].count("contact.created") == 2
    assert client.get("/v1/audit/verify", headers=acme.headers(Role.AUDITOR)).json()["ok"] is True


def test_a_revoked_key_among_registrations_sent_together_fails_alone(client: TestClient, acme: TenantKeys) -> None:
    admin = acme.headers(Role.ADMIN)
    issued = client.post("/v1/keys", json={"role": "capture"}, headers=admin).json()
    doomed = {"Authorization": f"Bearer {issued['key']}"}
    assert client.post("/v1/contacts", json={"phone": "+8613800138009"}, headers=doomed).status_code == 201
    assert client.delete(f"/v1/keys/{issued['key_id']}", headers=admin).status_code == 204
    responses = _register_together(client, [("+8613800138000", acme.headers(Role.CAPTURE)), ("+8613800138001", doomed)])
    assert [r.status_code for r in responses] == [201, 401]
