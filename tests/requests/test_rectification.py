"""Rectification: the number is replaced; consents end (policy default), suppressions follow the person."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import TenantKeys
from tests.requests.conftest import NEW_PHONE, PHONE, give_consent, privacy, run
from vault.services import Role, Vault
from vault.storage import tables as t


def test_rectification_moves_the_subject_to_the_new_number(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    old = give_consent(client, acme)["contact_id"]
    result = run(client, acme, "rectification", new_phone=NEW_PHONE)["result"]
    assert result["rectified"] is True and result["old_contact_id"] == old
    new = client.post("/v1/contacts", json={"phone": NEW_PHONE}, headers=acme.headers(Role.CAPTURE)).json()
    assert new["contact_id"] == result["new_contact_id"] and new["created"] is False
    with vault.database.read() as session:
        assert session.execute(select(t.contacts.c.id).where(t.contacts.c.id == old)).first() is None


def test_rectification_ends_consents_with_reason_rectified(client: TestClient, acme: TenantKeys) -> None:
    old = give_consent(client, acme)["contact_id"]
    result = run(client, acme, "rectification", new_phone=NEW_PHONE)["result"]
    assert result["consents"]["withdrawn"] == 1 and result["consents"]["moved"] == 0
    history = client.get(f"/v1/contacts/{old}/consents", headers=privacy(acme)).json()
    assert [e["event_type"] for e in history["events"]] == ["given", "withdrawn"]
    entries = client.get("/v1/audit/entries", headers=acme.headers(Role.AUDITOR)).json()
    assert any(e["action"] == "consent.withdrawn" and e["reason"] == "rectified" for e in entries)
    assert any(e["action"] == "contact.rectified" for e in entries)


def test_a_suppression_follows_the_person_to_the_new_number(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    give_consent(client, acme)
    client.post("/v1/suppressions", json={"phone": PHONE, "reason": "opted_out"}, headers=privacy(acme))
    assert run(client, acme, "rectification", new_phone=NEW_PHONE)["result"]["suppression_copied"] is True
    with vault.database.read() as session:
        blind = vault.keyrings.get(session, acme.tenant_id).blind_index(NEW_PHONE)
        reason = session.execute(
            select(t.suppressions.c.reason).where(t.suppressions.c.blind_index == blind)
        ).scalar_one()
    assert reason == "opted_out"


def test_the_new_number_is_stored_encrypted_until_execution(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    give_consent(client, acme)
    response = client.post(
        "/v1/requests", json={"type": "rectification", "phone": PHONE, "new_phone": NEW_PHONE}, headers=privacy(acme)
    )
    with vault.database.read() as session:
        blob = session.execute(
            select(t.subject_requests.c.new_phone_ct).where(t.subject_requests.c.id == response.json()["request_id"])
        ).scalar_one()
    assert blob is not None and NEW_PHONE.encode() not in blob and b"13700137000" not in blob


def test_rectifying_a_number_not_held_changes_nothing(client: TestClient, acme: TenantKeys) -> None:
    result = run(client, acme, "rectification", new_phone=NEW_PHONE)["result"]
    assert result == {"rectified": False, "reason": "nothing_held"}
