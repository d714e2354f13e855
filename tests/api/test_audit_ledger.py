"""The audit ledger detects edits, deletions and insertions; a failed audit write fails the action."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, insert, select, text, update

from tests.conftest import TenantKeys
from vault.api._group_commit import GroupCommit
from vault.services import Role, Vault
from vault.services.audit import record_event
from vault.storage import Tx
from vault.storage import tables as t
from vault.storage.tables import AuditEntry, Contact


def _register(client: TestClient, acme: TenantKeys, n: int = 3) -> None:
    for i in range(n):
        phone = f"+86138001380{i:02d}"
        assert client.post("/v1/contacts", json={"phone": phone}, headers=acme.headers(Role.CAPTURE)).status_code == 201


def _verify(client: TestClient, acme: TenantKeys) -> dict[str, object]:
    response = client.get("/v1/audit/verify", headers=acme.headers(Role.AUDITOR))
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


def test_intact_ledger_verifies(client: TestClient, acme: TenantKeys) -> None:
    _register(client, acme)
    report = _verify(client, acme)
    assert report["ok"] is True
    assert isinstance(report["entries"], int) and report["entries"] >= 5


def test_edited_entry_is_detected(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    _register(client, acme)
    with vault.database.write() as session:
        session.execute(update(t.audit_entries).where(t.audit_entries.c.seq == 3).values(action="contact.nothing"))
    report = _verify(client, acme)
    assert report["ok"] is False and report["first_bad"] == 3


def test_deleted_entry_is_detected(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    _register(client, acme)
    with vault.database.write() as session:
        session.execute(delete(t.audit_entries).where(t.audit_entries.c.seq == 2))
    report = _verify(client, acme)
    assert report["ok"] is False and report["first_bad"] == 2


def test_deleted_last_entry_is_detected(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    _register(client, acme)
    with vault.database.write() as session:
        last = session.execute(
            select(t.audit_entries.c.seq).order_by(t.audit_entries.c.seq.desc()).limit(1)
        ).scalar_one()
        session.execute(
            delete(t.audit_entries).where(t.audit_entries.c.seq == last, t.audit_entries.c.tenant_id == acme.tenant_id)
        )
    assert _verify(client, acme)["ok"] is False


def test_inserted_entry_is_detected(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    _register(client, acme)
    with vault.database.write() as session:
        entries = (
            session.execute(
                select(AuditEntry).where(t.audit_entries.c.tenant_id == acme.tenant_id).order_by(t.audit_entries.c.seq)
            )
            .scalars()
            .all()
        )
        session.execute(
            update(t.audit_entries)
            .where(t.audit_entries.c.tenant_id == acme.tenant_id, t.audit_entries.c.seq >= 3)
            .values(seq=t.audit_entries.c.seq + 1000)
        )
        forged = entries[2]
        session.execute(
            insert(t.audit_entries).values(
                tenant_id=acme.tenant_id,
                seq=3,
                at=forged.at,
                actor="admin:forged",
                action="contact.created",
                target_type=None,
                target_id=None,
                reason=None,
                details=None,
                prev_hash=entries[1].entry_hash,
                entry_hash=forged.entry_hash,
                mac=forged.mac,
                key_version=1,
            )
        )
    report = _verify(client, acme)
    assert report["ok"] is False and report["first_bad"] == 3


def test_entries_hold_ids_not_numbers(client: TestClient, acme: TenantKeys) -> None:
    _register(client, acme)
    entries = client.get("/v1/audit/entries", headers=acme.headers(Role.AUDITOR)).json()
    assert any(e["action"] == "contact.created" for e in entries)
    assert "13800138" not in str(entries)


@pytest.mark.sqlite_only("a SQLite trigger makes the write fail; tests/postgres/test_audit_write_failure.py")
def test_failed_audit_write_fails_the_action(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    headers = acme.headers(Role.CAPTURE)
    with vault.database.write() as session:
        session.execute(
            text("CREATE TRIGGER audit_down BEFORE INSERT ON audit_entries BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        )
    response = client.post("/v1/contacts", json={"phone": "+8613800138000"}, headers=headers)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "audit_write_failed"
    with vault.database.read() as session:
        assert session.execute(select(Contact)).first() is None


def test_only_auditor_and_admin_read_the_ledger(client: TestClient, acme: TenantKeys) -> None:
    assert client.get("/v1/audit/verify", headers=acme.headers(Role.ADMIN)).status_code == 200
    assert client.get("/v1/audit/verify", headers=acme.headers(Role.CAPTURE)).status_code == 403


def test_each_tenant_sees_only_its_own_ledger(client: TestClient, acme: TenantKeys, globex: TenantKeys) -> None:
    _register(client, acme)
    entries = client.get("/v1/audit/entries", headers=globex.headers(Role.AUDITOR)).json()
    assert all(e["action"] != "contact.created" for e in entries)


def test_the_chain_verifies_after_a_group_committed_batch_in_which_one_unit_failed(
    client: TestClient, acme: TenantKeys, vault: Vault
) -> None:
    with vault.database.read() as session:
        keyring = vault.keyrings.get(session, acme.tenant_id)
    now = vault.clock.now()

    def append(tx: Tx) -> int:
        return record_event(tx, keyring, "test", "test.appended", now)

    def append_then_fail(tx: Tx) -> int:
        append(tx)
        raise LookupError("abandoned")

    async def together() -> list[object]:
        group = GroupCommit(vault.database)
        return await asyncio.gather(*(group.run(w) for w in (append, append_then_fail, append)), return_exceptions=True)

    before = _verify(client, acme)["entries"]
    assert isinstance(before, int)
    results = asyncio.run(together())
    assert isinstance(results[1], LookupError)
    assert _verify(client, acme) == {"ok": True, "entries": before + 2}
