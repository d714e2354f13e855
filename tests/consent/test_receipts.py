"""Receipts: Kantara CR v1.1 payloads, EdDSA JWS verifiable from the published JWKS alone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

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


def _event_of(vault: Vault, receipt_id: str) -> Any:
    with vault.database.read() as session:
        return session.execute(select(t.consent_events).where(t.consent_events.c.receipt_id == receipt_id)).one()


def _refused(client: TestClient, acme: TenantKeys, receipt_id: str) -> bool:
    response = client.get(f"/v1/receipts/{receipt_id}", headers=acme.headers(Role.CAPTURE))
    return response.status_code == 500 and bool(response.json()["error"]["code"] == "receipt_integrity_failed")


def test_a_receipt_template_edited_in_the_database_is_refused(
    client: TestClient, acme: TenantKeys, vault: Vault
) -> None:
    receipt_id = _capture(client, acme)["receipt_id"]
    rt = t.receipt_templates.c
    with vault.database.write() as session:
        session.execute(
            update(t.receipt_templates)
            .where(rt.id == _event_of(vault, receipt_id).receipt_template_id)
            .values(pieces=func.replace(rt.pieces, "EXPLICIT", "IMPLIED"))
        )
    assert _refused(client, acme, receipt_id)


def test_a_receipt_whose_event_row_was_edited_is_refused(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    receipt_id = _capture(client, acme)["receipt_id"]
    with vault.database.write() as session:
        session.execute(
            update(t.consent_events)
            .where(t.consent_events.c.receipt_id == receipt_id)
            .values(occurred_at=START - timedelta(days=30))
        )
    assert _refused(client, acme, receipt_id)


def test_a_receipt_mac_moved_to_another_event_row_is_refused(
    client: TestClient, acme: TenantKeys, vault: Vault
) -> None:
    first = _event_of(vault, _capture(client, acme)["receipt_id"])
    second = client.post("/v1/consents", json=consent_body(purpose="survey"), headers=acme.headers(Role.CAPTURE))
    with vault.database.write() as session:
        session.execute(
            update(t.consent_events)
            .where(t.consent_events.c.receipt_id == second.json()["receipt_id"])
            .values(
                receipt_template_id=first.receipt_template_id,
                receipt_mac=first.receipt_mac,
                receipt_mac_key_version=first.receipt_mac_key_version,
            )
        )
    assert _refused(client, acme, second.json()["receipt_id"])


def test_receipts_of_one_shape_share_one_template(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    body = {"items": [consent_body(phone=f"+861380013800{i}") for i in range(3)]}
    client.post("/v1/consents/batch", json=body, headers=acme.headers(Role.CAPTURE))
    with vault.database.read() as session:
        templates = session.execute(select(func.count()).select_from(t.receipt_templates)).scalar_one()
    assert templates == 1


def _marked_receipt(client: TestClient, acme: TenantKeys) -> str:
    """A receipt whose shape holds a template marker: stored whole, as a row of `receipts`."""
    body = {"items": [consent_body(language="\ue000termination\ue000")]}
    response = client.post("/v1/consents/batch", json=body, headers=acme.headers(Role.CAPTURE))
    receipt_id: str = response.json()["results"][0]["receipt_id"]
    return receipt_id


def test_a_receipt_stored_whole_and_edited_in_the_database_is_refused(
    client: TestClient, acme: TenantKeys, vault: Vault
) -> None:
    receipt_id = _marked_receipt(client, acme)
    rc = t.receipts.c
    with vault.database.write() as session:
        session.execute(
            update(t.receipts)
            .where(rc.id == receipt_id)
            .values(payload=func.replace(rc.payload, '"EXPLICIT"', '"IMPLIED"'))
        )
    assert _refused(client, acme, receipt_id)


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
