"""Key rotation and rewrap: new contacts use the new version; rewrap moves every row, resumably."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import TenantKeys
from vault.cli._privacy import rewrap_in_batches
from vault.errors import InvalidInput
from vault.services import Role, Vault
from vault.services.contacts import reveal_number
from vault.services.rotation import RewrapBatch, retire_unused_wrap_versions, rotate_key
from vault.storage import tables as t
from vault.storage.tables import Contact

NUMBERS = [f"+86139{n:08d}" for n in range(12345670, 12345677)]


def _register(client: TestClient, keys: TenantKeys, numbers: list[str]) -> None:
    body = {"contacts": [{"phone": n} for n in numbers]}
    assert client.post("/v1/contacts/batch", json=body, headers=keys.headers(Role.CAPTURE)).status_code == 200


def _rotate(vault: Vault, tenant_id: str, family: str = "contact_dek_wrap") -> int:
    with vault.database.write() as session:
        version = rotate_key(session, vault, "test", tenant_id, family, vault.clock.now())
    vault.keyrings.forget(tenant_id)
    return version


def _versions(vault: Vault) -> list[int]:
    with vault.database.read() as session:
        return sorted(session.execute(select(t.contacts.c.dek_key_version)).scalars())


def _numbers(vault: Vault, tenant_id: str) -> set[str]:
    with vault.database.read() as session:
        keyring = vault.keyrings.get(session, tenant_id)
        return {reveal_number(keyring, c) for c in session.execute(select(Contact)).scalars()}


def test_after_rotation_new_contacts_use_the_new_version(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    _register(client, acme, NUMBERS[:2])
    assert _rotate(vault, acme.tenant_id) == 2
    _register(client, acme, NUMBERS[2:3])
    assert _versions(vault) == [1, 1, 2]


def test_rewrap_moves_every_row_and_every_number_still_decrypts(
    client: TestClient, acme: TenantKeys, vault: Vault
) -> None:
    _register(client, acme, NUMBERS)
    _rotate(vault, acme.tenant_id)
    assert rewrap_in_batches(vault, acme.tenant_id, 3) == len(NUMBERS)
    assert set(_versions(vault)) == {2}
    assert _numbers(vault, acme.tenant_id) == set(NUMBERS)


def test_a_crash_mid_rewrap_leaves_every_row_readable_and_a_rerun_finishes(
    client: TestClient, acme: TenantKeys, vault: Vault
) -> None:
    _register(client, acme, NUMBERS)

    def crash(batch: RewrapBatch) -> None:
        raise RuntimeError("killed")

    _rotate(vault, acme.tenant_id)
    with pytest.raises(RuntimeError):
        rewrap_in_batches(vault, acme.tenant_id, 3, on_batch=crash)
    assert _versions(vault).count(2) == 3
    assert _numbers(vault, acme.tenant_id) == set(NUMBERS)
    assert rewrap_in_batches(vault, acme.tenant_id, 3) == len(NUMBERS) - 3
    assert set(_versions(vault)) == {2}


def test_unused_old_versions_can_be_retired(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    _register(client, acme, NUMBERS[:2])
    _rotate(vault, acme.tenant_id)
    with vault.database.write() as session:
        assert retire_unused_wrap_versions(session, vault, "test", acme.tenant_id, vault.clock.now()) == []
    rewrap_in_batches(vault, acme.tenant_id, 10)
    with vault.database.write() as session:
        assert retire_unused_wrap_versions(session, vault, "test", acme.tenant_id, vault.clock.now()) == [1]
    vault.keyrings.forget(acme.tenant_id)
    assert _numbers(vault, acme.tenant_id) == set(NUMBERS[:2])


def test_the_blind_index_key_is_never_rotated(vault: Vault, acme: TenantKeys) -> None:
    with vault.database.write() as session, pytest.raises(InvalidInput) as caught:
        rotate_key(session, vault, "test", acme.tenant_id, "blind_index", vault.clock.now())
    assert caught.value.code == "key_not_rotatable"


def test_rotation_and_rewrap_are_audited(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    _register(client, acme, NUMBERS[:2])
    _rotate(vault, acme.tenant_id, "audit_mac")
    _rotate(vault, acme.tenant_id)
    rewrap_in_batches(vault, acme.tenant_id, 10)
    entries = client.get("/v1/audit/entries", headers=acme.headers(Role.AUDITOR)).json()
    actions = [e["action"] for e in entries]
    assert actions.count("keys.rotated") == 2 and "keys.rewrapped" in actions
    assert client.get("/v1/audit/verify", headers=acme.headers(Role.AUDITOR)).json()["ok"] is True
