"""Receipts: Kantara CR v1.1 payloads, EdDSA JWS verifiable from the published JWKS alone."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import START, TenantKeys
from tests.consent.conftest import PHONE, consent_body
from vault.crypto import SignatureError, jws_verify
from vault.services import Role

pytestmark = pytest.mark.usefixtures("notice")


def _capture(client: TestClient, acme: TenantKeys) -> dict[str, Any]:
    response = client.post("/v1/consents", json=consent_body(), headers=acme.headers(Role.CAPTURE))
    out: dict[str, Any] = response.json()
    return out


def test_receipt_verifies_with_the_jwks_fetched_over_http(client: TestClient, acme: TenantKeys) -> None:
    captured = _capture(client, acme)
    receipt = client.get(f"/v1/receipts/{captured['receipt_id']}", headers=acme.headers(Role.CAPTURE)).json()
    jwks = client.get("/v1/.well-known/jwks.json").json()
    assert jws_verify(receipt["jws"], jwks) == receipt["receipt"]


def test_a_changed_payload_fails_verification(client: TestClient, acme: TenantKeys) -> None:
    captured = _capture(client, acme)
    jws = client.get(f"/v1/receipts/{captured['receipt_id']}", headers=acme.headers(Role.PRIVACY)).json()["jws"]
    header, body, signature = jws.split(".")
    tampered = f"{header}.{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{signature}"
    with pytest.raises(SignatureError):
        jws_verify(tampered, client.get("/v1/.well-known/jwks.json").json())


def test_receipt_has_the_kantara_fields_and_no_number(client: TestClient, acme: TenantKeys, notice: Any) -> None:
    captured = _capture(client, acme)
    response = client.get(f"/v1/receipts/{captured['receipt_id']}", headers=acme.headers(Role.CAPTURE))
    receipt = response.json()["receipt"]
    assert receipt["version"] == "KI-CR-v1.1.0"
    assert receipt["consentTimestamp"] == int(START.timestamp())
    assert receipt["consentReceiptID"] == captured["receipt_id"]
    assert receipt["piiPrincipalId"] == captured["contact_id"]
    assert receipt["piiControllers"] == [{"piiController": "acme"}]
    assert receipt["policyUrl"] == "https://acme.example/privacy"
    assert receipt["collectionMethod"] == "web_form"
    assert receipt["jurisdiction"] == "CN"
    assert receipt["notice"] == {"id": "mkt-notice", "version": "v1", "sha256": notice["sha256"]}
    assert receipt["event"] == "given"
    purpose = receipt["services"][0]["purposes"][0]
    assert purpose["purpose"] == "marketing"
    assert purpose["consentType"] == "EXPLICIT"
    assert purpose["piiCategory"] == ["phone number"]
    assert receipt["sensitive"] is False
    assert PHONE[1:] not in response.text


def test_jwks_lists_every_tenants_keys_with_tenant_qualified_kids(
    client: TestClient, acme: TenantKeys, globex: TenantKeys
) -> None:
    kids = [k["kid"] for k in client.get("/v1/.well-known/jwks.json").json()["keys"]]
    assert any(k.startswith(acme.tenant_id + ".") for k in kids)
    assert any(k.startswith(globex.tenant_id + ".") for k in kids)


def test_another_tenants_receipt_is_404(client: TestClient, acme: TenantKeys, globex: TenantKeys) -> None:
    captured = _capture(client, acme)
    response = client.get(f"/v1/receipts/{captured['receipt_id']}", headers=globex.headers(Role.CAPTURE))
    assert response.status_code == 404


def test_dialer_cannot_read_receipts(client: TestClient, acme: TenantKeys) -> None:
    captured = _capture(client, acme)
    assert client.get(f"/v1/receipts/{captured['receipt_id']}", headers=acme.headers(Role.DIALER)).status_code == 403
