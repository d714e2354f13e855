"""POST /v1/consents: validation, evidence, renewal, idempotency, isolation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import START, TenantKeys
from tests.consent.conftest import PHONE, consent_body
from vault.services import Role, Vault
from vault.storage import tables as t

pytestmark = pytest.mark.usefixtures("notice")


def _count(vault: Vault, table: Any) -> int:
    with vault.database.read() as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def test_capture_returns_ids_and_granted(client: TestClient, acme: TenantKeys) -> None:
    response = client.post("/v1/consents", json=consent_body(), headers=acme.headers(Role.CAPTURE))
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["status"] == "granted"
    assert out["consent_id"].startswith("cn_")
    assert out["contact_id"].startswith("ct_")
    assert out["receipt_id"].startswith("rc_")
    assert PHONE[1:] not in response.text


def test_capture_by_contact_id_uses_that_contact(client: TestClient, acme: TenantKeys) -> None:
    contact = client.post("/v1/contacts", json={"phone": PHONE}, headers=acme.headers(Role.CAPTURE)).json()
    body = consent_body(contact_id=contact["contact_id"])
    del body["phone"]
    response = client.post("/v1/consents", json=body, headers=acme.headers(Role.CAPTURE))
    assert response.json()["contact_id"] == contact["contact_id"]


@pytest.mark.parametrize(
    ("override", "code", "field"),
    [
        ({"purpose": "astrology"}, "unknown_purpose", "purpose"),
        ({"channels": ["carrier_pigeon"]}, "channel_not_allowed", "channels"),
        ({"expires_at": (START - timedelta(days=1)).isoformat()}, "expiry_in_past", "expires_at"),
        ({"evidence": {"references": "not a list"}}, "invalid_evidence", "evidence"),
        ({"evidence": {"references": [{"type": "recording", "sha256": "xyz"}]}}, "invalid_evidence", "evidence"),
        ({"method": "telepathy"}, "invalid_method", "method"),
        ({"phone": "+86123"}, "invalid_phone_number", "phone"),
    ],
)
def test_invalid_capture_is_422_naming_the_field_and_writes_nothing(
    client: TestClient, acme: TenantKeys, vault: Vault, override: dict[str, Any], code: str, field: str
) -> None:
    response = client.post("/v1/consents", json=consent_body(**override), headers=acme.headers(Role.CAPTURE))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["field"] == field
    assert _count(vault, t.consent_events) == 0
    assert _count(vault, t.contacts) == 0


def test_unknown_contact_id_is_404(client: TestClient, acme: TenantKeys) -> None:
    body = consent_body(contact_id="ct_nosuchcontact")
    del body["phone"]
    response = client.post("/v1/consents", json=body, headers=acme.headers(Role.CAPTURE))
    assert response.status_code == 404


def test_another_tenants_contact_id_is_404_like_an_unknown_one(
    client: TestClient, acme: TenantKeys, globex: TenantKeys
) -> None:
    contact = client.post("/v1/contacts", json={"phone": PHONE}, headers=globex.headers(Role.CAPTURE)).json()
    body = consent_body(contact_id=contact["contact_id"])
    del body["phone"]
    response = client.post("/v1/consents", json=body, headers=acme.headers(Role.CAPTURE))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "contact_not_found"


def test_privacy_role_cannot_capture(client: TestClient, acme: TenantKeys) -> None:
    assert client.post("/v1/consents", json=consent_body(), headers=acme.headers(Role.PRIVACY)).status_code == 403


def test_evidence_references_are_stored_and_ip_is_encrypted(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    evidence = {
        "references": [{"type": "recording", "uri": "s3://rec/1", "sha256": "a" * 64}],
        "ip": "203.0.113.9",
        "user_agent": "Mozilla/5.0",
    }
    client.post("/v1/consents", json=consent_body(evidence=evidence), headers=acme.headers(Role.CAPTURE))
    with vault.database.read() as session:
        row = session.execute(select(t.consent_events.c.evidence, t.consent_events.c.evidence_ct)).one()
    assert row.evidence == {"references": evidence["references"]}
    assert row.evidence_ct is not None
    assert b"203.0.113.9" not in row.evidence_ct


def test_default_expiry_comes_from_policy(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    client.post("/v1/consents", json=consent_body(), headers=acme.headers(Role.CAPTURE))
    with vault.database.read() as session:
        policy = vault.policies.for_tenant(session, acme.tenant_id)
        expires = session.execute(select(t.consent_states.c.expires_at)).scalar_one()
    from vault.services.consent._rules import ConsentRules

    assert expires == ConsentRules(policy).consent_expiry("marketing", START)


def test_second_grant_for_a_granted_purpose_is_renewed(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    client.post("/v1/consents", json=consent_body(), headers=acme.headers(Role.CAPTURE))
    second = client.post(
        "/v1/consents", json=consent_body(channels=["voice", "sms"]), headers=acme.headers(Role.CAPTURE)
    )
    assert second.json()["event"] == "renewed"
    with vault.database.read() as session:
        types = session.execute(
            select(t.consent_events.c.event_type).order_by(t.consent_events.c.recorded_at)
        ).scalars()
        state = session.execute(select(t.consent_states.c.consent_id, t.consent_states.c.channels)).one()
    assert sorted(types) == ["given", "renewed"]
    assert state.consent_id == second.json()["consent_id"]
    assert state.channels == ["voice", "sms"]


def test_retry_with_same_idempotency_key_returns_same_body_without_writing(
    client: TestClient, acme: TenantKeys, vault: Vault
) -> None:
    headers = {**acme.headers(Role.CAPTURE), "Idempotency-Key": "req-1"}
    first = client.post("/v1/consents", json=consent_body(), headers=headers)
    second = client.post("/v1/consents", json=consent_body(), headers=headers)
    assert second.status_code == 201
    assert second.json() == first.json()
    assert _count(vault, t.consent_events) == 1


def test_same_idempotency_key_with_another_body_is_409(client: TestClient, acme: TenantKeys) -> None:
    headers = {**acme.headers(Role.CAPTURE), "Idempotency-Key": "req-2"}
    client.post("/v1/consents", json=consent_body(), headers=headers)
    response = client.post("/v1/consents", json=consent_body(purpose="survey"), headers=headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"


def test_idempotency_keys_are_tenant_scoped(client: TestClient, acme: TenantKeys, globex: TenantKeys) -> None:
    client.post(
        "/v1/notices", json={"id": "mkt-notice", "version": "v1", "text": "g"}, headers=globex.headers(Role.ADMIN)
    )
    client.post("/v1/consents", json=consent_body(), headers={**acme.headers(Role.CAPTURE), "Idempotency-Key": "k"})
    response = client.post(
        "/v1/consents",
        json=consent_body(purpose="survey"),
        headers={**globex.headers(Role.CAPTURE), "Idempotency-Key": "k"},
    )
    assert response.status_code == 201


def test_capture_is_audited_without_the_number(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    out = client.post("/v1/consents", json=consent_body(), headers=acme.headers(Role.CAPTURE)).json()
    with vault.database.read() as session:
        rows = session.execute(select(t.audit_entries.c.action, t.audit_entries.c.target_id)).all()
    assert ("consent.given", out["consent_id"]) in [tuple(r) for r in rows]
