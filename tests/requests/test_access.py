"""Access requests: the package holds everything on the subject, only once the request is completed."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.conftest import TenantKeys
from tests.requests.conftest import PHONE, Subject, open_request, privacy, run, verify
from vault.services import Role


def _package(client: TestClient, keys: TenantKeys) -> dict[str, object]:
    request_id = run(client, keys, "access")["request_id"]
    response = client.get(f"/v1/requests/{request_id}/package", headers=privacy(keys))
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == f'attachment; filename="{request_id}.json"'
    out: dict[str, object] = json.loads(response.content)
    return out


def test_the_package_holds_everything_on_the_subject(client: TestClient, acme: TenantKeys, subject: Subject) -> None:
    package = _package(client, acme)
    assert package["held"] is True
    assert package["phone"] == PHONE
    assert package["contact_id"] == subject.contact_id
    consents = package["consents"]
    assert isinstance(consents, dict)
    assert {e["event_type"] for e in consents["events"]} == {"given", "withdrawn"}
    receipts = package["receipts"]
    assert isinstance(receipts, list) and subject.receipt_id in {r["receipt_id"] for r in receipts}
    assert all(r["jws"].count(".") == 2 for r in receipts)
    suppressions = package["suppressions"]
    assert isinstance(suppressions, list) and suppressions[0]["reason"] == "complaint"
    complaints = package["complaints"]
    assert isinstance(complaints, list) and complaints[0]["summary"] == "called me during dinner, rude agent"
    attempts = package["call_attempts"]
    assert isinstance(attempts, list) and attempts[0]["attempt_id"] == subject.attempt_id
    requests = package["requests"]
    assert isinstance(requests, list) and len(requests) == 1


def test_the_package_is_an_audited_reveal(client: TestClient, acme: TenantKeys, subject: Subject) -> None:
    package = _package(client, acme)
    entries = client.get("/v1/audit/entries", headers=acme.headers(Role.AUDITOR)).json()
    revealed = [e for e in entries if e["action"] == "dsr.package_revealed"]
    assert len(revealed) == 1 and revealed[0]["target_id"] == package["request_id"]
    assert "13800138000" not in json.dumps(entries)


def test_the_package_waits_for_completion(client: TestClient, acme: TenantKeys, subject: Subject) -> None:
    request_id = open_request(client, acme, "access")["request_id"]
    verify(client, acme, request_id)
    response = client.get(f"/v1/requests/{request_id}/package", headers=privacy(acme))
    assert response.status_code == 409 and response.json()["error"]["code"] == "request_not_completed"


def test_only_access_requests_have_a_package(client: TestClient, acme: TenantKeys) -> None:
    request_id = run(client, acme, "withdraw_all")["request_id"]
    response = client.get(f"/v1/requests/{request_id}/package", headers=privacy(acme))
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_an_access_request"


def test_a_number_not_held_gives_a_package_saying_so(client: TestClient, acme: TenantKeys) -> None:
    package = _package(client, acme)
    assert package["held"] is False and package["phone"] is None
    assert package["consents"] == {"purposes": {}, "events": []} and package["complaints"] == []


def test_the_package_needs_the_privacy_role(client: TestClient, acme: TenantKeys) -> None:
    request_id = run(client, acme, "access")["request_id"]
    response = client.get(f"/v1/requests/{request_id}/package", headers=acme.headers(Role.CAPTURE))
    assert response.status_code == 403


def test_withdraw_all_ends_every_consent(client: TestClient, acme: TenantKeys) -> None:
    from tests.requests.conftest import give_consent

    given = give_consent(client, acme)
    give_consent(client, acme, purpose="survey")
    result = run(client, acme, "withdraw_all")["result"]
    assert result["withdrawn"] == 2
    state = client.get(f"/v1/contacts/{given['contact_id']}/consents", headers=privacy(acme)).json()
    assert {p["status"] for p in state["purposes"].values()} == {"withdrawn"}
