"""POST /v1/consents/batch: per-item results, good items commit, bad ones write nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import TenantKeys
from tests.consent.conftest import consent_body
from vault.services import Role, Vault
from vault.storage import tables as t

pytestmark = pytest.mark.usefixtures("notice")


def test_batch_reports_each_item_by_index(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    items = [
        consent_body(phone="+8613800138001"),
        consent_body(phone="+8613800138002", purpose="astrology"),
        consent_body(phone="bogus"),
        consent_body(phone="+8613800138003", channels=["fax"]),
        consent_body(phone="+8613800138004", purpose="survey"),
    ]
    response = client.post("/v1/consents/batch", json={"items": items}, headers=acme.headers(Role.CAPTURE))
    assert response.status_code == 200
    out = response.json()
    assert (out["granted"], out["rejected"]) == (2, 3)
    errors = {r["index"]: r["error"] for r in out["results"] if r.get("error")}
    assert errors[1]["code"] == "unknown_purpose"
    assert errors[1]["field"] == "items.1.purpose"
    assert errors[2]["code"] == "invalid_phone_number"
    assert errors[3]["code"] == "channel_not_allowed"
    with vault.database.read() as session:
        assert session.execute(select(func.count()).select_from(t.consent_events)).scalar_one() == 2
        assert session.execute(select(func.count()).select_from(t.contacts)).scalar_one() == 2
    assert "13800138" not in response.text


def test_batch_with_idempotency_key_replays(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    headers = {**acme.headers(Role.CAPTURE), "Idempotency-Key": "batch-1"}
    body = {"items": [consent_body(phone=f"+86138001380{i:02d}") for i in range(5)]}
    first = client.post("/v1/consents/batch", json=body, headers=headers)
    second = client.post("/v1/consents/batch", json=body, headers=headers)
    assert first.json() == second.json()
    with vault.database.read() as session:
        assert session.execute(select(func.count()).select_from(t.consent_events)).scalar_one() == 5


def test_batch_writes_one_audit_entry_with_counts(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    body = {"items": [consent_body(phone=f"+86138001380{i:02d}") for i in range(3)]}
    client.post("/v1/consents/batch", json=body, headers=acme.headers(Role.CAPTURE))
    with vault.database.read() as session:
        details = session.execute(
            select(t.audit_entries.c.details).where(t.audit_entries.c.action == "consents.captured")
        ).scalar_one()
    assert details == {"given": 3, "renewed": 0, "duplicates": 0, "rejected": 0}


def test_a_number_new_to_the_vault_named_twice_in_a_batch_is_given_then_renewed(
    client: TestClient, acme: TenantKeys, vault: Vault
) -> None:
    body = {"items": [consent_body(phone="+8613800138001"), consent_body(phone="+8613800138001")]}
    client.post("/v1/consents/batch", json=body, headers=acme.headers(Role.CAPTURE))
    with vault.database.read() as session:
        details = session.execute(
            select(t.audit_entries.c.details).where(t.audit_entries.c.action == "consents.captured")
        ).scalar_one()
        states = session.execute(select(func.count()).select_from(t.consent_states)).scalar_one()
    assert (details["given"], details["renewed"], states) == (1, 1, 1)


def test_a_batch_renews_the_grants_of_numbers_already_held(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    body = {"items": [consent_body(phone=f"+86138001380{i:02d}") for i in range(3)]}
    client.post("/v1/consents/batch", json=body, headers=acme.headers(Role.CAPTURE))
    again = client.post("/v1/consents/batch", json=body, headers=acme.headers(Role.CAPTURE))
    assert again.json()["granted"] == 3
    with vault.database.read() as session:
        renewed = session.execute(
            select(func.count()).select_from(t.consent_events).where(t.consent_events.c.event_type == "renewed")
        ).scalar_one()
        states = session.execute(select(func.count()).select_from(t.consent_states)).scalar_one()
    assert (renewed, states) == (3, 3)


def test_batch_over_5000_items_is_422(client: TestClient, acme: TenantKeys) -> None:
    body = {"items": [consent_body()] * 5001}
    assert client.post("/v1/consents/batch", json=body, headers=acme.headers(Role.CAPTURE)).status_code == 422


def test_batch_needs_capture_role(client: TestClient, acme: TenantKeys) -> None:
    body = {"items": [consent_body()]}
    assert client.post("/v1/consents/batch", json=body, headers=acme.headers(Role.DIALER)).status_code == 403
