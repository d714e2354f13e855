"""POST /v1/complaints, GET /v1/complaints, POST /v1/complaints/{id}/resolve."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import START, TenantKeys
from tests.consent.conftest import PHONE, consent_body
from vault.clock import FixedClock
from vault.services import Role, Vault
from vault.services.consent import is_suppressed
from vault.storage import tables as t

pytestmark = pytest.mark.usefixtures("notice")
SUMMARY = "Called three times at dinner, asked them to stop."


def _complain(client: TestClient, keys: TenantKeys, **body: Any) -> Any:
    payload = {"channel": "hotline", "summary": SUMMARY, **body}
    return client.post("/v1/complaints", json=payload, headers=keys.headers(Role.CAPTURE))


def test_complaint_suppresses_at_once_and_withdraws_every_purpose(
    client: TestClient, acme: TenantKeys, vault: Vault
) -> None:
    contact_id = client.post("/v1/consents", json=consent_body(), headers=acme.headers(Role.CAPTURE)).json()[
        "contact_id"
    ]
    client.post("/v1/consents", json=consent_body(purpose="survey"), headers=acme.headers(Role.CAPTURE))
    response = _complain(client, acme, phone=PHONE)
    assert response.status_code == 201
    assert response.json()["withdrawn"] == 2
    with vault.database.read() as session:
        blind = vault.keyrings.get(session, acme.tenant_id).blind_index(PHONE)
        assert is_suppressed(session, acme.tenant_id, blind, START)
        reason = session.execute(select(t.suppressions.c.reason)).scalar_one()
    assert reason == "complaint"
    history = client.get(f"/v1/contacts/{contact_id}/consents", headers=acme.headers(Role.PRIVACY)).json()
    assert {p["status"] for p in history["purposes"].values()} == {"withdrawn"}


def test_complaint_about_an_unknown_number_registers_it(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    response = _complain(client, acme, phone=PHONE)
    assert response.status_code == 201
    assert response.json()["contact_id"].startswith("ct_")


def test_complaint_summary_is_encrypted(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    _complain(client, acme, phone=PHONE)
    with vault.database.read() as session:
        summary_ct = session.execute(select(t.complaints.c.summary_ct)).scalar_one()
    assert SUMMARY.encode() not in summary_ct


def test_due_date_comes_from_the_callee_jurisdiction_and_the_injected_clock(
    client: TestClient, acme: TenantKeys
) -> None:
    due = _complain(client, acme, phone=PHONE).json()["due_at"]
    assert datetime.fromisoformat(due.replace("Z", "+00:00")) == START + timedelta(days=7)  # CN: 7 days


def test_complaint_by_attempt_resolves_the_contact(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    contact_id = client.post("/v1/consents", json=consent_body(), headers=acme.headers(Role.CAPTURE)).json()[
        "contact_id"
    ]
    with vault.database.write() as session:
        session.execute(
            t.attempts.insert().values(
                id="at_test", tenant_id=acme.tenant_id, campaign_id="cm_x", contact_id=contact_id, purpose="marketing",
                channel="voice", caller_line_id="cl_x", authorized_at=START,
            )
        )  # fmt: skip
    response = _complain(client, acme, attempt_id="at_test")
    assert response.json()["contact_id"] == contact_id


def test_another_tenants_attempt_is_404(client: TestClient, acme: TenantKeys, globex: TenantKeys, vault: Vault) -> None:
    with vault.database.write() as session:
        session.execute(
            t.attempts.insert().values(
                id="at_acme", tenant_id=acme.tenant_id, campaign_id="cm_x", contact_id="ct_x", purpose="marketing",
                channel="voice", caller_line_id="cl_x", authorized_at=START,
            )
        )  # fmt: skip
    response = _complain(client, globex, attempt_id="at_acme")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_attempt"


def test_overdue_open_complaints_are_listed(client: TestClient, acme: TenantKeys, clock: FixedClock) -> None:
    complaint_id = _complain(client, acme, phone=PHONE).json()["complaint_id"]
    headers = acme.headers(Role.PRIVACY)
    assert client.get("/v1/complaints?status=open&overdue=true", headers=headers).json()["complaints"] == []
    clock.advance(timedelta(days=60))
    listed = client.get("/v1/complaints?status=open&overdue=true", headers=headers).json()["complaints"]
    assert [c["complaint_id"] for c in listed] == [complaint_id]
    assert "summary" not in listed[0]


def test_resolving_closes_the_complaint_once(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    complaint_id = _complain(client, acme, phone=PHONE).json()["complaint_id"]
    headers = acme.headers(Role.PRIVACY)
    resolved = client.post(f"/v1/complaints/{complaint_id}/resolve", json={"resolution": "apologised"}, headers=headers)
    assert resolved.json()["status"] == "resolved"
    again = client.post(f"/v1/complaints/{complaint_id}/resolve", json={"resolution": "x"}, headers=headers)
    assert again.status_code == 409
    with vault.database.read() as session:
        actions = set(session.execute(select(t.audit_entries.c.action)).scalars())
    assert {"complaint.received", "suppression.added", "consent.withdraw_requested", "complaint.resolved"} <= actions


def test_another_tenants_complaint_cannot_be_resolved(client: TestClient, acme: TenantKeys, globex: TenantKeys) -> None:
    complaint_id = _complain(client, acme, phone=PHONE).json()["complaint_id"]
    response = client.post(
        f"/v1/complaints/{complaint_id}/resolve", json={"resolution": "x"}, headers=globex.headers(Role.PRIVACY)
    )
    assert response.status_code == 404


def test_capture_cannot_list_complaints(client: TestClient, acme: TenantKeys) -> None:
    assert client.get("/v1/complaints", headers=acme.headers(Role.CAPTURE)).status_code == 403


def test_dialer_cannot_file_complaints(client: TestClient, acme: TenantKeys) -> None:
    response = client.post(
        "/v1/complaints", json={"phone": PHONE, "channel": "hotline", "summary": "x"}, headers=acme.headers(Role.DIALER)
    )
    assert response.status_code == 403
