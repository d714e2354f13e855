"""Helpers for data-subject request tests: a subject with consents, a complaint, attempts and handles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantKeys
from vault.services import Role, Vault
from vault.services._ids import new_id
from vault.storage import tables as t

PHONE = "+8613800138000"
OTHER = "+8613912345678"
NEW_PHONE = "+8613700137000"
NOTICE_TEXT = "We will call you about offers at most twice a week. Reply STOP to opt out."


def privacy(keys: TenantKeys) -> dict[str, str]:
    return keys.headers(Role.PRIVACY)


def open_request(client: TestClient, keys: TenantKeys, type_: str = "access", **extra: Any) -> dict[str, Any]:
    body = {"type": type_, "phone": PHONE, **extra}
    response = client.post("/v1/requests", json=body, headers=privacy(keys))
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


def verify(client: TestClient, keys: TenantKeys, request_id: str) -> None:
    response = client.post(
        f"/v1/requests/{request_id}/verify",
        json={"method": "id_document", "reference": "passport checked by agent 7"},
        headers=privacy(keys),
    )
    assert response.status_code == 200, response.text


def run(client: TestClient, keys: TenantKeys, type_: str, **extra: Any) -> dict[str, Any]:
    """Open, verify and execute a request; returns the execute answer."""
    request_id = open_request(client, keys, type_, **extra)["request_id"]
    verify(client, keys, request_id)
    response = client.post(f"/v1/requests/{request_id}/execute", headers=privacy(keys))
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out


@dataclass
class Subject:
    contact_id: str
    consent_id: str
    receipt_id: str
    complaint_id: str | None
    handle_digest: bytes
    attempt_id: str


def give_consent(
    client: TestClient, keys: TenantKeys, phone: str = PHONE, purpose: str = "marketing"
) -> dict[str, Any]:
    client.post(
        "/v1/notices",
        json={"id": "mkt-notice", "version": "v1", "text": NOTICE_TEXT},
        headers=keys.headers(Role.ADMIN),
    )
    body = {
        "phone": phone, "purpose": purpose, "channels": ["voice"], "notice": {"id": "mkt-notice", "version": "v1"},
        "method": "web_form", "jurisdiction": "CN", "language": "zh",
        "evidence": {"ip": "203.0.113.9", "user_agent": "Mozilla/5.0"},
    }  # fmt: skip
    response = client.post("/v1/consents", json=body, headers=keys.headers(Role.CAPTURE))
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


def add_handle_and_attempt(vault: Vault, tenant_id: str, contact_id: str, now: datetime) -> tuple[bytes, str]:
    """Dialing rows inserted directly (the dialing routes are another engineer's)."""
    campaign_id, attempt_id = new_id("cm"), new_id("at")
    with vault.database.write() as session:
        keyring = vault.keyrings.get(session, tenant_id)
        digest = keyring.handle_digest("hdl_" + new_id("x"))
        session.execute(
            t.campaigns.insert().values(
                id=campaign_id, tenant_id=tenant_id, name="spring", purpose="marketing", channel="voice",
                status="open", created_at=now,
            )
        )  # fmt: skip
        session.execute(
            t.dial_handles.insert().values(
                digest=digest, id=new_id("dh"), tenant_id=tenant_id, campaign_id=campaign_id, contact_id=contact_id,
                created_at=now, expires_at=now + timedelta(days=1),
            )
        )  # fmt: skip
        session.execute(
            t.attempts.insert().values(
                id=attempt_id, tenant_id=tenant_id, campaign_id=campaign_id, contact_id=contact_id,
                purpose="marketing", channel="voice", caller_line_id="cl_x", authorized_at=now, outcome="answered",
                outcome_at=now,
            )
        )  # fmt: skip
    return digest, attempt_id


@pytest.fixture
def subject(client: TestClient, acme: TenantKeys, vault: Vault) -> Subject:
    """A contact with a consent (with encrypted evidence), a complaint, a dial handle and an attempt."""
    consent = give_consent(client, acme)
    complaint = client.post(
        "/v1/complaints",
        json={"phone": PHONE, "channel": "hotline", "summary": "called me during dinner, rude agent"},
        headers=acme.headers(Role.CAPTURE),
    )
    assert complaint.status_code == 201, complaint.text
    digest, attempt_id = add_handle_and_attempt(vault, acme.tenant_id, consent["contact_id"], vault.clock.now())
    return Subject(
        consent["contact_id"], consent["consent_id"], consent["receipt_id"], complaint.json()["complaint_id"],
        digest, attempt_id,
    )  # fmt: skip
