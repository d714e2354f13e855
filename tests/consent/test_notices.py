"""POST /v1/notices and how consents name notices."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import TenantKeys
from tests.consent.conftest import NOTICE_TEXT, consent_body
from vault.services import Role


def test_registering_a_notice_returns_the_sha256_of_its_text(notice: dict[str, Any]) -> None:
    assert notice["sha256"] == hashlib.sha256(NOTICE_TEXT.encode()).hexdigest()
    assert notice["created"] is True


def test_registering_the_same_text_again_is_idempotent(client: TestClient, acme: TenantKeys, notice: Any) -> None:
    again = client.post(
        "/v1/notices",
        json={"id": "mkt-notice", "version": "v1", "text": NOTICE_TEXT},
        headers=acme.headers(Role.CAPTURE),
    )
    assert again.status_code == 200
    assert again.json()["sha256"] == notice["sha256"]


def test_other_text_for_a_registered_version_is_a_conflict(client: TestClient, acme: TenantKeys, notice: Any) -> None:
    response = client.post(
        "/v1/notices", json={"id": "mkt-notice", "version": "v1", "text": "other"}, headers=acme.headers(Role.ADMIN)
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "notice_version_conflict"


def test_dialer_cannot_register_notices(client: TestClient, acme: TenantKeys) -> None:
    response = client.post(
        "/v1/notices", json={"id": "n", "version": "v1", "text": "t"}, headers=acme.headers(Role.DIALER)
    )
    assert response.status_code == 403


def test_consent_naming_an_unregistered_notice_is_422(client: TestClient, acme: TenantKeys) -> None:
    response = client.post("/v1/consents", json=consent_body(), headers=acme.headers(Role.CAPTURE))
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "unknown_notice",
        "message": "the notice is not registered",
        "field": "notice",
    }


def test_consent_carrying_notice_text_registers_it_on_the_fly(client: TestClient, acme: TenantKeys) -> None:
    body = consent_body(notice={"id": "ivr-script", "version": "3", "text": "Press 1 to agree."})
    assert client.post("/v1/consents", json=body, headers=acme.headers(Role.CAPTURE)).status_code == 201
    again = client.post(
        "/v1/notices",
        json={"id": "ivr-script", "version": "3", "text": "Press 1 to agree."},
        headers=acme.headers(Role.ADMIN),
    )
    assert again.status_code == 200


def test_consent_text_differing_from_the_registered_notice_is_422(
    client: TestClient, acme: TenantKeys, notice: Any
) -> None:
    body = consent_body(notice={"id": "mkt-notice", "version": "v1", "text": "something else"})
    response = client.post("/v1/consents", json=body, headers=acme.headers(Role.CAPTURE))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "notice_mismatch"


def test_notices_are_tenant_scoped(client: TestClient, acme: TenantKeys, globex: TenantKeys, notice: Any) -> None:
    response = client.post("/v1/consents", json=consent_body(), headers=globex.headers(Role.CAPTURE))
    assert response.json()["error"]["code"] == "unknown_notice"
