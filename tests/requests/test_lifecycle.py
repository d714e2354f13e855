"""The request lifecycle over HTTP: due dates, verification, transitions, isolation, roles."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import START, TenantKeys
from tests.requests.conftest import PHONE, open_request, privacy, verify
from vault.clock import FixedClock
from vault.services import Role, Vault
from vault.storage import tables as t


def _due(response_json: dict[str, object]) -> datetime:
    return datetime.fromisoformat(str(response_json["due_at"]))


def test_a_new_request_is_received_with_a_due_date(client: TestClient, acme: TenantKeys) -> None:
    out = open_request(client, acme, "access")
    assert out["status"] == "received" and out["request_id"].startswith("dsr_")


def test_a_chinese_number_is_due_in_fifteen_working_days(client: TestClient, acme: TenantKeys) -> None:
    out = open_request(client, acme, "access")
    assert _due(out) == START + timedelta(days=21)  # 15 working days, no holiday in between


def test_an_explicit_gdpr_jurisdiction_is_due_in_one_month(client: TestClient, acme: TenantKeys) -> None:
    out = open_request(client, acme, "erasure", jurisdiction="DE")
    assert _due(out) == START.replace(month=START.month + 1)  # GDPR Art 12(3): one calendar month


def test_a_california_number_is_due_in_45_days(client: TestClient, acme: TenantKeys) -> None:
    response = client.post("/v1/requests", json={"type": "access", "phone": "+14155550123"}, headers=privacy(acme))
    assert response.status_code == 201
    assert _due(response.json()) == START + timedelta(days=45)


def test_executing_before_verification_is_refused(client: TestClient, acme: TenantKeys) -> None:
    request_id = open_request(client, acme, "access")["request_id"]
    response = client.post(f"/v1/requests/{request_id}/execute", headers=privacy(acme))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "identity_not_verified"


def test_an_unknown_request_is_not_found(client: TestClient, acme: TenantKeys) -> None:
    response = client.get("/v1/requests/dsr_nosuchrequest", headers=privacy(acme))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "request_not_found"


def test_another_tenants_request_is_not_found(client: TestClient, acme: TenantKeys, globex: TenantKeys) -> None:
    request_id = open_request(client, acme, "access")["request_id"]
    for method, path in [
        ("GET", f"/v1/requests/{request_id}"),
        ("POST", f"/v1/requests/{request_id}/execute"),
        ("POST", f"/v1/requests/{request_id}/cancel"),
        ("GET", f"/v1/requests/{request_id}/package"),
    ]:
        response = client.request(method, path, headers=privacy(globex))
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "request_not_found"
    assert client.get("/v1/requests", headers=privacy(globex)).json() == []


def test_requests_need_the_privacy_role(client: TestClient, acme: TenantKeys) -> None:
    for role in (Role.CAPTURE, Role.DIALER, Role.GATEWAY, Role.ADMIN, Role.AUDITOR):
        response = client.post("/v1/requests", json={"type": "access", "phone": PHONE}, headers=acme.headers(role))
        assert response.status_code == 403


def test_rectifying_to_an_invalid_number_names_the_new_phone_field(client: TestClient, acme: TenantKeys) -> None:
    response = client.post(
        "/v1/requests",
        json={"type": "rectification", "phone": PHONE, "new_phone": "+86 138 0013 800"},
        headers=privacy(acme),
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_phone_number" and error.get("field") == "new_phone"
    assert "1380013800" not in response.text


def test_a_number_the_tenant_does_not_hold_still_opens_a_request(client: TestClient, acme: TenantKeys) -> None:
    out = open_request(client, acme, "access")
    shown = client.get(f"/v1/requests/{out['request_id']}", headers=privacy(acme)).json()
    assert shown["contact_id"] is None


def test_the_verification_reference_is_stored_only_as_a_digest(
    client: TestClient, acme: TenantKeys, vault: Vault
) -> None:
    request_id = open_request(client, acme, "access")["request_id"]
    verify(client, acme, request_id)
    with vault.database.read() as session:
        row = session.execute(
            select(t.subject_requests.c.verification_ref_digest, t.subject_requests.c.status).where(
                t.subject_requests.c.id == request_id
            )
        ).one()
    assert row.status == "identity_verified"
    assert row.verification_ref_digest == hashlib.sha256(b"passport checked by agent 7").hexdigest()


def test_the_history_lists_every_transition(client: TestClient, acme: TenantKeys) -> None:
    request_id = open_request(client, acme, "access")["request_id"]
    verify(client, acme, request_id)
    client.post(f"/v1/requests/{request_id}/execute", headers=privacy(acme))
    shown = client.get(f"/v1/requests/{request_id}", headers=privacy(acme)).json()
    assert shown["status"] == "completed"
    assert [h["to_status"] for h in shown["history"]] == ["received", "identity_verified", "in_progress", "completed"]


def test_every_transition_is_audited(client: TestClient, acme: TenantKeys) -> None:
    request_id = open_request(client, acme, "access")["request_id"]
    verify(client, acme, request_id)
    client.post(f"/v1/requests/{request_id}/execute", headers=privacy(acme))
    entries = client.get("/v1/audit/entries", headers=acme.headers(Role.AUDITOR)).json()
    actions = [e["action"] for e in entries if e.get("target_id") == request_id]
    assert actions == ["dsr.received", "dsr.identity_verified", "dsr.in_progress", "dsr.completed"]
    assert client.get("/v1/audit/verify", headers=acme.headers(Role.AUDITOR)).json()["ok"] is True


def test_a_denied_request_keeps_its_reason_and_is_closed(client: TestClient, acme: TenantKeys) -> None:
    request_id = open_request(client, acme, "erasure")["request_id"]
    denied = client.post(
        f"/v1/requests/{request_id}/deny", json={"reason": "identity could not be confirmed"}, headers=privacy(acme)
    ).json()
    assert denied["status"] == "denied"
    assert denied["history"][-1]["note"] == "identity could not be confirmed"
    again = client.post(f"/v1/requests/{request_id}/cancel", headers=privacy(acme))
    assert again.status_code == 409 and again.json()["error"]["code"] == "request_closed"


def test_a_reason_holding_a_number_is_refused(client: TestClient, acme: TenantKeys) -> None:
    request_id = open_request(client, acme, "erasure")["request_id"]
    response = client.post(
        f"/v1/requests/{request_id}/deny", json={"reason": "caller gave 138 0013 8000"}, headers=privacy(acme)
    )
    assert response.status_code == 422 and "0013" not in response.text


def test_a_canceled_request_cannot_be_executed(client: TestClient, acme: TenantKeys) -> None:
    request_id = open_request(client, acme, "erasure")["request_id"]
    verify(client, acme, request_id)
    assert client.post(f"/v1/requests/{request_id}/cancel", headers=privacy(acme)).json()["status"] == "canceled"
    response = client.post(f"/v1/requests/{request_id}/execute", headers=privacy(acme))
    assert response.status_code == 409


def test_a_gdpr_request_extends_to_at_most_three_months(client: TestClient, acme: TenantKeys) -> None:
    request_id = open_request(client, acme, "access", jurisdiction="FR")["request_id"]
    extended = client.post(
        f"/v1/requests/{request_id}/extend", json={"reason": "complex request"}, headers=privacy(acme)
    ).json()
    assert extended["status"] == "extended"
    assert START.replace(month=4) < datetime.fromisoformat(extended["due_at"]) <= START.replace(month=6)


def test_a_request_is_extended_only_once(client: TestClient, acme: TenantKeys) -> None:
    request_id = open_request(client, acme, "access", jurisdiction="FR")["request_id"]
    client.post(f"/v1/requests/{request_id}/extend", json={"reason": "complex"}, headers=privacy(acme))
    again = client.post(f"/v1/requests/{request_id}/extend", json={"reason": "complex"}, headers=privacy(acme))
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_extended"


def test_an_extended_request_can_still_be_verified_and_executed(client: TestClient, acme: TenantKeys) -> None:
    request_id = open_request(client, acme, "access", jurisdiction="FR")["request_id"]
    client.post(f"/v1/requests/{request_id}/extend", json={"reason": "complex"}, headers=privacy(acme))
    verify(client, acme, request_id)
    response = client.post(f"/v1/requests/{request_id}/execute", headers=privacy(acme))
    assert response.status_code == 200 and response.json()["status"] == "completed"


def test_a_regime_without_extensions_refuses_one(client: TestClient, acme: TenantKeys) -> None:
    request_id = open_request(client, acme, "access")["request_id"]  # CN number
    response = client.post(f"/v1/requests/{request_id}/extend", json={"reason": "busy"}, headers=privacy(acme))
    assert response.status_code == 409 and response.json()["error"]["code"] == "extension_not_allowed"


def test_overdue_requests_are_listed_as_of_now(client: TestClient, acme: TenantKeys, clock: FixedClock) -> None:
    late = open_request(client, acme, "access", jurisdiction="DE")["request_id"]
    done = open_request(client, acme, "access", jurisdiction="DE")["request_id"]
    verify(client, acme, done)
    client.post(f"/v1/requests/{done}/execute", headers=privacy(acme))
    assert client.get("/v1/requests?overdue=true", headers=privacy(acme)).json() == []
    clock.advance(timedelta(days=32))
    overdue = client.get("/v1/requests?overdue=true", headers=privacy(acme)).json()
    assert [r["request_id"] for r in overdue] == [late]
    assert overdue[0]["overdue"] is True
