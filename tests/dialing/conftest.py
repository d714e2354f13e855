"""Helpers for dialing tests: caller lines, consented contacts, campaigns and handles over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantKeys
from vault.services import Role
from vault.services.dialing import CALLEE_FACTS

LINE = "+862161234567"
OTHER_LINE = "+862161234568"
PHONE = "+8613800138000"
NOTICE = {"id": "mkt-notice", "version": "v1"}


@dataclass
class Dialing:
    client: TestClient
    tenant: TenantKeys

    def post(self, path: str, body: dict[str, Any], role: Role, status: int | None = 200) -> dict[str, Any]:
        response = self.client.post(path, json=body, headers=self.tenant.headers(role))
        if status is not None:
            assert response.status_code == status, response.text
        out: dict[str, Any] = response.json()
        return out

    def caller_line(self, number: str = LINE, **extra: Any) -> str:
        body = {"number": number, "whitelist_status": "approved", **extra}
        return str(self.post("/v1/caller-lines", body, Role.ADMIN, 201)["caller_line_id"])

    def notice(self) -> None:
        self.post("/v1/notices", {**NOTICE, "text": "We call about offers. Say STOP to opt out."}, Role.ADMIN, 201)

    def consent(self, phone: str = PHONE, purpose: str = "marketing", **extra: Any) -> str:
        body = {
            "phone": phone, "purpose": purpose, "channels": ["voice"], "notice": NOTICE, "method": "web_form",
            "jurisdiction": "CN", **extra,
        }  # fmt: skip
        return str(self.post("/v1/consents", body, Role.CAPTURE, 201)["contact_id"])

    def contact(self, phone: str) -> str:
        response = self.client.post("/v1/contacts", json={"phone": phone}, headers=self.tenant.headers(Role.CAPTURE))
        assert response.status_code in (200, 201), response.text
        return str(response.json()["contact_id"])

    def campaign(self, purpose: str = "marketing", lines: list[str] | None = None, **extra: Any) -> str:
        body = {"name": "spring", "purpose": purpose, "channel": "voice", "caller_lines": lines or [LINE], **extra}
        return str(self.post("/v1/campaigns", body, Role.DIALER, 201)["campaign_id"])

    def handles(self, campaign_id: str, contact_ids: list[str]) -> dict[str, Any]:
        return self.post(f"/v1/campaigns/{campaign_id}/handles", {"contact_ids": contact_ids}, Role.DIALER)

    def handle(self, campaign_id: str, contact_id: str) -> str:
        issued = self.handles(campaign_id, [contact_id])
        assert issued["excluded"] == [], issued
        return str(issued["handles"][0]["handle"])

    def authorize(self, handle: str, caller_line: str = LINE, role: Role = Role.GATEWAY) -> dict[str, Any]:
        return self.post("/v1/dial/authorize", {"handle": handle, "caller_line": caller_line}, role)

    def reason(self, handle: str, caller_line: str = LINE) -> str | None:
        answer = self.authorize(handle, caller_line)
        assert answer["decision"] == ("deny" if "reason" in answer else "allow"), answer
        return answer.get("reason")


@pytest.fixture(autouse=True)
def _fresh_callee_facts() -> None:
    CALLEE_FACTS.clear()


@pytest.fixture
def dial(client: TestClient, acme: TenantKeys) -> Dialing:
    """acme with an approved caller line and a registered notice."""
    d = Dialing(client, acme)
    d.caller_line()
    d.notice()
    return d


@pytest.fixture
def ready(dial: Dialing) -> tuple[Dialing, str, str]:
    """A consented contact, a marketing campaign and a handle for it: (dial, contact_id, handle)."""
    contact_id = dial.consent()
    campaign_id = dial.campaign()
    return dial, contact_id, dial.handle(campaign_id, contact_id)
