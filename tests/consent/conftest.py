"""Shared helpers for consent tests: a registered notice and a valid consent body."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantKeys
from vault.services import Role

NOTICE_TEXT = "We will call you about offers at most twice a week. Reply STOP to opt out."
PHONE = "+8613800138000"


def consent_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "phone": PHONE,
        "purpose": "marketing",
        "channels": ["voice"],
        "notice": {"id": "mkt-notice", "version": "v1"},
        "method": "web_form",
        "jurisdiction": "CN",
        "language": "zh",
    }
    body.update(overrides)
    return body


@pytest.fixture
def notice(client: TestClient, acme: TenantKeys) -> dict[str, Any]:
    response = client.post(
        "/v1/notices",
        json={"id": "mkt-notice", "version": "v1", "text": NOTICE_TEXT, "policy_url": "https://acme.example/privacy"},
        headers=acme.headers(Role.ADMIN),
    )
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out
