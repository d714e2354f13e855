"""Receipts: Kantara CR v1.1 payloads, EdDSA JWS verifiable from the published JWKS alone."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.conftest import START, TenantKeys
from tests.consent.conftest import PHONE, consent_body
from vault.crypto import SignatureError, jws_verify
from vault.services import Role, Vault
from vault.storage import tables as t

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


def test_every_read_of_a_receipt_gives_the_same_token(client: TestClient, acme: TenantKeys) -> None:
    captured = _capture(client, acme)
    reads = [
        client.get(f"/v1/receipts/{captured['receipt_id']}", headers=acme.headers(Role.CAPTURE)).json()["jws"]
        for _ in range(2)
    ]
    assert reads[0] == reads[1]


def _stored(vault: Vault, receipt_id: str) -> Any:
    with vault.database.read() as session:
        return session.execute(select(t.receipts).where(t.receipts.c.id == receipt_id)).one()


def test_a_stored_receipt_edited_in_the_database_is_refused(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    receipt_id = _capture(client, acme)["receipt_id"]
    edited = _stored(vault, receipt_id).payload.replace('"EXPLICIT"', '"IMPLIED"')
    with vault.database.write() as session:
        session.execute(update(t.receipts).where(t.receipts.c.id == receipt_id).values(payload=edited))
    response = client.get(f"/v1/receipts/{receipt_id}", headers=acme.headers(Role.CAPTURE))
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "receipt_integrity_failed"


def test_a_stored_receipt_moved_to_another_row_is_refused(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    first = _capture(client, acme)["receipt_id"]
    second = client.post("/v1/consents", json=consent_body(purpose="survey"), headers=acme.headers(Role.CAPTURE))
    moved = _stored(vault, first)
    with vault.database.write() as session:
        session.execute(
            update(t.receipts)
            .where(t.receipts.c.id == second.json()["receipt_id"])
            .values(payload=moved.payload, mac=moved.mac, mac_key_version=moved.mac_key_version)
        )
    response = client.get(f"/v1/receipts/{second.json()['receipt_id']}", headers=acme.headers(Role.CAPTURE))
    assert response.json()["error"]["code"] == "receipt_integrity_failed"


def test_text_fields_that_look_like_template_markers_are_kept_verbatim(client: TestClient, acme: TenantKeys) -> None:
    odd = "\ue000termination\ue000"
    body = {"items": [consent_body(language=odd), consent_body(phone="+8613800138009", language=odd)]}
    results = client.post("/v1/consents/batch", json=body, headers=acme.headers(Role.CAPTURE)).json()["results"]
    jwks = client.get("/v1/.well-known/jwks.json").json()
    for result in results:
        response = client.get(f"/v1/receipts/{result['receipt_id']}", headers=acme.headers(Role.CAPTURE)).json()
        assert response["receipt"]["language"] == odd
        assert response["receipt"]["piiPrincipalId"] == result["contact_id"]
        assert jws_verify(response["jws"], jwks) == response["receipt"]


def test_a_receipt_signed_when_captured_is_served_as_signed(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    with vault.database.write() as session:
        jws = vault.keyrings.get(session, acme.tenant_id).sign({"consentReceiptID": "rc_signedatcapture"})
        session.execute(
            t.receipts.insert().values(
                id="rc_signedatcapture", tenant_id=acme.tenant_id, consent_event_id="ce_x", contact_id="ct_x",
                jws=jws, created_at=START,
            )
        )  # fmt: skip
    response = client.get("/v1/receipts/rc_signedatcapture", headers=acme.headers(Role.CAPTURE)).json()
    assert response == {"receipt": {"consentReceiptID": "rc_signedatcapture"}, "jws": jws}
