"""A vault in production mode on OpenBao Transit: it works, the root key stays in OpenBao, outages fail closed."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from tests.conftest import TenantKeys
from tests.servers import OpenBaoServer, free_port
from vault.clock import FixedClock
from vault.config import Settings
from vault.errors import ServiceUnavailable
from vault.services import Role, Vault, initialize_vault
from vault.services.bootstrap import build_key_provider
from vault.services.contacts import PHONE_FIELD
from vault.services.tenants import create_tenant
from vault.storage import tables as t

pytestmark = pytest.mark.openbao

PHONE = "+8613800138000"
CALLER_LINE = "+862161234567"


def wrapped_blobs(vault: Vault) -> list[bytes]:
    with vault.database.read() as session:
        keys = session.execute(select(t.tenant_keys.c.wrapped)).scalars().all()
        secrets_ = session.execute(select(t.server_secrets.c.wrapped)).scalars().all()
    return [bytes(b) for b in [*keys, *secrets_]]


def register(client: TestClient, acme: TenantKeys, phone: str = PHONE) -> httpx.Response:
    response: httpx.Response = client.post("/v1/contacts", json={"phone": phone}, headers=acme.headers(Role.CAPTURE))
    return response


@pytest.fixture
def handle(client: TestClient, acme: TenantKeys) -> str:
    """A dial handle for a consented marketing contact (the test clock is Monday noon in Shanghai)."""
    admin, capture, dialer = acme.headers(Role.ADMIN), acme.headers(Role.CAPTURE), acme.headers(Role.DIALER)
    notice = {
        "id": "mkt",
        "version": "v1",
        "text": "Offers by phone. Say STOP to opt out.",
        "policy_url": "https://a.example",
    }
    steps: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        ("/v1/notices", notice, admin),
        ("/v1/caller-lines", {"number": CALLER_LINE, "whitelist_status": "approved"}, admin),
    ]
    for path, body, headers in steps:
        assert client.post(path, json=body, headers=headers).status_code == 201, path
    consent = {
        "phone": PHONE, "purpose": "marketing", "channels": ["voice"], "notice": {"id": "mkt", "version": "v1"},
        "method": "web_form", "jurisdiction": "CN",
    }  # fmt: skip
    contact_id = client.post("/v1/consents", json=consent, headers=capture).json()["contact_id"]
    campaign = {"name": "spring", "purpose": "marketing", "channel": "voice", "caller_lines": [CALLER_LINE]}
    campaign_id = client.post("/v1/campaigns", json=campaign, headers=dialer).json()["campaign_id"]
    issued = client.post(f"/v1/campaigns/{campaign_id}/handles", json={"contact_ids": [contact_id]}, headers=dialer)
    return str(issued.json()["handles"][0]["handle"])


def authorize(client: TestClient, acme: TenantKeys, handle: str) -> httpx.Response:
    body = {"handle": handle, "caller_line": CALLER_LINE}
    response: httpx.Response = client.post("/v1/dial/authorize", json=body, headers=acme.headers(Role.GATEWAY))
    return response


@pytest.fixture
def paused(openbao_server: OpenBaoServer) -> Iterator[OpenBaoServer]:
    yield openbao_server
    openbao_server.resume()  # whatever the test did


def test_contacts_register_and_decrypt_with_keys_wrapped_by_openbao(
    client: TestClient, acme: TenantKeys, vault: Vault
) -> None:
    first = register(client, acme)
    assert first.status_code == 201
    assert register(client, acme).json()["contact_id"] == first.json()["contact_id"]
    contact_id = first.json()["contact_id"]
    with vault.database.read() as session:
        row = session.execute(
            select(t.contacts.c.wrapped_dek, t.contacts.c.phone_ct).where(t.contacts.c.id == contact_id)
        ).one()
        keyring = vault.keyrings.get(session, acme.tenant_id)
    dek = keyring.unwrap_contact_dek(contact_id, row.wrapped_dek)
    assert keyring.decrypt_field(dek, contact_id, PHONE_FIELD, row.phone_ct) == PHONE.encode()


def test_the_store_holds_only_transit_ciphertexts_of_the_tenant_keys_and_server_secrets(
    vault: Vault, acme: TenantKeys
) -> None:
    blobs = wrapped_blobs(vault)
    assert blobs
    assert all(b.startswith(b"vault:v1:") for b in blobs)
    with vault.database.read() as session:
        assert set(session.execute(select(t.tenant_keys.c.provider)).scalars()) == {"openbao"}


def test_the_transit_key_cannot_be_exported(openbao_server: OpenBaoServer, settings: Settings, vault: Vault) -> None:
    described = openbao_server.request("GET", f"transit/keys/{settings.openbao_key}").json()["data"]
    assert described["exportable"] is False and described["derived"] is True
    exported = openbao_server.request("GET", f"transit/export/encryption-key/{settings.openbao_key}")
    assert exported.status_code == 400


def test_initialization_creates_the_transit_key_once(
    openbao_server: OpenBaoServer, settings: Settings, vault: Vault
) -> None:
    described = openbao_server.request("GET", f"transit/keys/{settings.openbao_key}").json()["data"]
    assert described["latest_version"] == 1
    assert described["type"] == "aes256-gcm96"


def test_authorize_fails_closed_while_openbao_is_paused_and_recovers_by_itself(
    client: TestClient, acme: TenantKeys, handle: str, paused: OpenBaoServer
) -> None:
    assert authorize(client, acme, handle).json()["decision"] == "allow"  # the gateway key exists now
    paused.pause()
    during = authorize(client, acme, handle)
    assert during.status_code == 503
    assert during.json()["error"]["code"] == "key_provider_unavailable"
    assert paused.token not in during.text
    paused.resume()
    after = authorize(client, acme, handle)
    assert after.status_code == 200 and after.json()["decision"] == "allow"


def test_registration_fails_closed_while_openbao_is_paused(
    client: TestClient, acme: TenantKeys, paused: OpenBaoServer
) -> None:
    acme.headers(Role.CAPTURE)  # issue the key while OpenBao answers
    paused.pause()
    response = register(client, acme)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "key_provider_unavailable"
    paused.resume()
    assert register(client, acme).status_code == 201


def test_a_rotated_transit_key_wraps_new_tenant_keys_and_old_ones_still_unwrap(
    client: TestClient, acme: TenantKeys, vault: Vault, settings: Settings, clock: FixedClock
) -> None:
    provider = build_key_provider(settings)
    assert provider.rotate() == 2  # type: ignore[attr-defined]
    with vault.database.write() as session:
        globex = create_tenant(session, vault, "globex", clock.now())
    with vault.database.read() as session:
        rows = session.execute(select(t.tenant_keys.c.tenant_id, t.tenant_keys.c.wrapped)).all()
        globex_ring = vault.keyrings.get(session, globex.id)
        acme_ring = vault.keyrings.get(session, acme.tenant_id)
    assert {bytes(w)[:9] for tid, w in rows if tid == globex.id} == {b"vault:v2:"}
    assert {bytes(w)[:9] for tid, w in rows if tid == acme.tenant_id} == {b"vault:v1:"}
    assert globex_ring.tenant_id == globex.id and acme_ring.tenant_id == acme.tenant_id
    assert register(client, acme).status_code == 201  # acme's v1-wrapped keys, unwrapped again (TTL 0)


def test_initializing_against_an_unreachable_openbao_fails_with_a_stable_code(settings: Settings) -> None:
    unreachable = settings.model_copy(update={"openbao_addr": f"http://127.0.0.1:{free_port()}"})
    with pytest.raises(ServiceUnavailable) as caught:
        initialize_vault(unreachable, "acme")
    assert caught.value.code == "key_provider_unavailable"


def test_a_wrong_token_cannot_open_the_vault(settings: Settings, vault: Vault) -> None:
    from vault.errors import DialvaultError
    from vault.services import open_vault

    forged = settings.model_copy(update={"openbao_token": SecretStr(base64.b64encode(b"not-a-token-at-all").decode())})
    with pytest.raises(DialvaultError) as caught:
        open_vault(forged)
    assert caught.value.code == "key_provider_unavailable"
    assert "not-a-token" not in str(caught.value)
