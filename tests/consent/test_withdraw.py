"""POST /v1/consents/withdraw, GET /v1/contacts/{id}/consents, and the event fold."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import START, TenantKeys
from tests.consent.conftest import PHONE, consent_body
from vault.clock import FixedClock
from vault.services import Role, Vault
from vault.services.consent import fold_events
from vault.storage import tables as t

pytestmark = pytest.mark.usefixtures("notice")


def _grant(client: TestClient, acme: TenantKeys, **overrides: Any) -> dict[str, Any]:
    response = client.post("/v1/consents", json=consent_body(**overrides), headers=acme.headers(Role.CAPTURE))
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


def _issue_handle(client: TestClient, acme: TenantKeys, contact_id: str) -> str:
    """A dial handle for the contact, issued as a dialer gets one."""
    line, admin, dialer = "+862161234567", acme.headers(Role.ADMIN), acme.headers(Role.DIALER)
    line_body = {"number": line, "whitelist_status": "approved"}
    assert client.post("/v1/caller-lines", json=line_body, headers=admin).status_code == 201
    campaign_body = {"name": "c", "purpose": "marketing", "channel": "voice", "caller_lines": [line]}
    campaign_id = client.post("/v1/campaigns", json=campaign_body, headers=dialer).json()["campaign_id"]
    issued = client.post(f"/v1/campaigns/{campaign_id}/handles", json={"contact_ids": [contact_id]}, headers=dialer)
    return str(issued.json()["handles"][0]["handle"])


def _state(client: TestClient, acme: TenantKeys, contact_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/contacts/{contact_id}/consents", headers=acme.headers(Role.PRIVACY))
    assert response.status_code == 200
    out: dict[str, Any] = response.json()
    return out


def test_withdraw_without_purpose_withdraws_every_purpose(client: TestClient, acme: TenantKeys) -> None:
    granted = _grant(client, acme)
    _grant(client, acme, purpose="survey")
    response = client.post("/v1/consents/withdraw", json={"phone": PHONE}, headers=acme.headers(Role.CAPTURE))
    assert response.status_code == 200
    assert response.json()["withdrawn"] == 2
    assert len(response.json()["receipt_ids"]) == 2
    purposes = _state(client, acme, granted["contact_id"])["purposes"]
    assert {p["status"] for p in purposes.values()} == {"withdrawn"}


def test_withdraw_one_purpose_leaves_the_others(client: TestClient, acme: TenantKeys) -> None:
    granted = _grant(client, acme)
    _grant(client, acme, purpose="survey")
    body = {"contact_id": granted["contact_id"], "purpose": "survey"}
    assert client.post("/v1/consents/withdraw", json=body, headers=acme.headers(Role.DIALER)).json()["withdrawn"] == 1
    purposes = _state(client, acme, granted["contact_id"])["purposes"]
    assert purposes["marketing"]["status"] == "granted"
    assert purposes["survey"]["status"] == "withdrawn"


def test_withdraw_by_handle_resolves_the_contact(client: TestClient, acme: TenantKeys) -> None:
    handle = _issue_handle(client, acme, _grant(client, acme)["contact_id"])
    response = client.post("/v1/consents/withdraw", json={"handle": handle}, headers=acme.headers(Role.DIALER))
    assert response.json()["withdrawn"] == 1


def test_a_handle_with_a_wrong_random_part_is_404(client: TestClient, acme: TenantKeys) -> None:
    handle = _issue_handle(client, acme, _grant(client, acme)["contact_id"])
    forged = handle[:-1] + ("B" if handle[-1] == "A" else "A")  # the same row named, another random part
    response = client.post("/v1/consents/withdraw", json={"handle": forged}, headers=acme.headers(Role.DIALER))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_handle"


def test_unknown_handle_is_404(client: TestClient, acme: TenantKeys) -> None:
    response = client.post("/v1/consents/withdraw", json={"handle": "nope"}, headers=acme.headers(Role.DIALER))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_handle"


def test_another_tenants_handle_is_404(client: TestClient, acme: TenantKeys, globex: TenantKeys) -> None:
    handle = _issue_handle(client, acme, _grant(client, acme)["contact_id"])
    response = client.post("/v1/consents/withdraw", json={"handle": handle}, headers=globex.headers(Role.DIALER))
    assert response.status_code == 404


def test_withdrawal_yields_a_signed_withdrawn_receipt(client: TestClient, acme: TenantKeys) -> None:
    _grant(client, acme)
    receipt_id = client.post("/v1/consents/withdraw", json={"phone": PHONE}, headers=acme.headers(Role.CAPTURE)).json()[
        "receipt_ids"
    ][0]
    receipt = client.get(f"/v1/receipts/{receipt_id}", headers=acme.headers(Role.CAPTURE)).json()["receipt"]
    assert receipt["event"] == "withdrawn"
    assert receipt["services"][0]["purposes"][0]["termination"] == "withdrawn"


def test_withdrawing_an_unknown_number_withdraws_nothing(client: TestClient, acme: TenantKeys) -> None:
    response = client.post("/v1/consents/withdraw", json={"phone": PHONE}, headers=acme.headers(Role.CAPTURE))
    assert response.json() == {"withdrawn": 0, "receipt_ids": []}


def test_gateway_cannot_withdraw(client: TestClient, acme: TenantKeys) -> None:
    response = client.post("/v1/consents/withdraw", json={"phone": PHONE}, headers=acme.headers(Role.GATEWAY))
    assert response.status_code == 403


def test_history_lists_events_without_number_or_evidence_secrets(client: TestClient, acme: TenantKeys) -> None:
    granted = _grant(client, acme, evidence={"ip": "198.51.100.7", "references": [{"type": "form"}]})
    client.post("/v1/consents/withdraw", json={"phone": PHONE}, headers=acme.headers(Role.CAPTURE))
    response = client.get(f"/v1/contacts/{granted['contact_id']}/consents", headers=acme.headers(Role.CAPTURE))
    assert [e["event_type"] for e in response.json()["events"]] == ["given", "withdrawn"]
    assert PHONE[1:] not in response.text
    assert "198.51.100.7" not in response.text


def test_history_of_another_tenants_contact_is_404(client: TestClient, acme: TenantKeys, globex: TenantKeys) -> None:
    granted = _grant(client, acme)
    response = client.get(f"/v1/contacts/{granted['contact_id']}/consents", headers=globex.headers(Role.PRIVACY))
    assert response.status_code == 404


def test_history_needs_capture_or_privacy(client: TestClient, acme: TenantKeys) -> None:
    granted = _grant(client, acme)
    response = client.get(f"/v1/contacts/{granted['contact_id']}/consents", headers=acme.headers(Role.DIALER))
    assert response.status_code == 403


def test_expired_grant_reads_as_expired(client: TestClient, acme: TenantKeys, clock: FixedClock) -> None:
    granted = _grant(client, acme, expires_at=(START + timedelta(days=1)).isoformat())
    clock.advance(timedelta(days=2))
    assert _state(client, acme, granted["contact_id"])["purposes"]["marketing"]["status"] == "expired"


def test_materialized_state_equals_the_fold_of_the_events(
    client: TestClient, acme: TenantKeys, vault: Vault, clock: FixedClock
) -> None:
    granted = _grant(client, acme)
    _grant(client, acme, purpose="survey")
    clock.advance(timedelta(hours=1))
    _grant(client, acme, channels=["voice", "sms"])
    clock.advance(timedelta(hours=1))
    client.post("/v1/consents/withdraw", json={"phone": PHONE, "purpose": "survey"}, headers=acme.headers(Role.CAPTURE))
    clock.advance(timedelta(hours=1))
    _grant(client, acme, purpose="survey")
    client.post(
        "/v1/consents/withdraw", json={"phone": PHONE, "purpose": "marketing"}, headers=acme.headers(Role.CAPTURE)
    )
    with vault.database.read() as session:
        events = [dict(r._mapping) for r in session.execute(select(t.consent_events)).all()]
        states = session.execute(select(t.consent_states)).all()
    folded = fold_events(events)
    materialized = {
        s.purpose: (s.consent_id, s.status, s.channels, s.given_at, s.expires_at, s.withdrawn_at) for s in states
    }
    assert materialized == {
        p: (f.consent_id, f.status, f.channels, f.given_at, f.expires_at, f.withdrawn_at) for p, f in folded.items()
    }
    assert {s.contact_id for s in states} == {granted["contact_id"]}
    assert materialized["marketing"][1] == "withdrawn"
    assert materialized["survey"][1] == "granted"
