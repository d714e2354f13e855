"""Erasure by crypto-shredding: nothing left decrypts to the number, the number is nowhere on disk,
what a rule requires is kept pseudonymous and said so, the suppression outlives the contact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import LargeBinary, func, select

from tests.api.test_no_plaintext_leaks import number_forms
from tests.conftest import TenantKeys
from tests.requests.conftest import PHONE, Subject, give_consent, privacy, run
from vault.crypto import DecryptionError
from vault.services import Role, Vault
from vault.services.requests import is_erased_handle
from vault.storage import tables as t

FIELDS = ("phone", "evidence", "complaint_summary", "dsr_new_phone")


def _count(vault: Vault, table: Any, *where: Any) -> int:
    with vault.database.read() as session:
        return int(session.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def test_erasure_deletes_the_contact_and_journals_it(
    client: TestClient, acme: TenantKeys, vault: Vault, subject: Subject
) -> None:
    result = run(client, acme, "erasure")["result"]
    assert result["erased"] is True and result["contact_id"] == subject.contact_id
    assert _count(vault, t.contacts, t.contacts.c.id == subject.contact_id) == 0
    assert _count(vault, t.dial_handles, t.dial_handles.c.contact_id == subject.contact_id) == 0
    assert _count(vault, t.erasure_journal, t.erasure_journal.c.contact_id == subject.contact_id) == 1


def test_erasure_says_what_it_kept_and_why(client: TestClient, acme: TenantKeys, subject: Subject) -> None:
    kept = {k["kind"]: k for k in run(client, acme, "erasure")["result"]["kept"]}
    assert kept["suppression"]["reason"] == "complaint"
    assert set(kept) >= {"suppression", "consent_events", "complaints", "call_attempts"}
    assert all(k["source"] for k in kept.values())


def test_erasure_keeps_the_subjects_receipts_with_their_consent_events(
    client: TestClient, acme: TenantKeys, subject: Subject
) -> None:
    kept = {k["kind"]: k for k in run(client, acme, "erasure")["result"]["kept"]}
    assert kept["receipts"]["count"] == kept["consent_events"]["count"]
    receipt = client.get(f"/v1/receipts/{subject.receipt_id}", headers=acme.headers(Role.PRIVACY)).json()
    assert receipt["receipt"]["piiPrincipalId"] == subject.contact_id


def test_the_suppression_outlives_erasure(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    give_consent(client, acme)
    run(client, acme, "erasure")
    with vault.database.read() as session:
        blind = vault.keyrings.get(session, acme.tenant_id).blind_index(PHONE)
        reason = session.execute(
            select(t.suppressions.c.reason).where(t.suppressions.c.blind_index == blind)
        ).scalar_one()
    assert reason == "erasure"


def test_kept_records_are_pseudonymous(client: TestClient, acme: TenantKeys, vault: Vault, subject: Subject) -> None:
    run(client, acme, "erasure")
    ce = t.consent_events.c
    assert _count(vault, t.consent_events, ce.contact_id == subject.contact_id) > 0
    assert _count(vault, t.consent_events, ce.contact_id == subject.contact_id, ce.evidence_ct.is_not(None)) == 0
    cp = t.complaints.c
    assert (
        _count(vault, t.complaints, cp.id == subject.complaint_id, cp.summary_ct.is_(None), cp.contact_id.is_(None))
        == 1
    )
    assert _count(vault, t.consent_states, t.consent_states.c.contact_id == subject.contact_id) == 0


def test_no_ciphertext_left_decrypts_to_the_number(
    client: TestClient, acme: TenantKeys, vault: Vault, subject: Subject
) -> None:
    run(client, acme, "rectification", new_phone="+8613700137000")  # leaves new_phone_ct around before erasure
    give_consent(client, acme)
    run(client, acme, "erasure")
    with vault.database.read() as session:
        keyring = vault.keyrings.get(session, acme.tenant_id)
        deks = [
            (cid, keyring.unwrap_contact_dek(cid, wrapped))
            for cid, wrapped in session.execute(select(t.contacts.c.id, t.contacts.c.wrapped_dek))
        ]
        blobs: list[bytes] = []
        for table in t.metadata.sorted_tables:
            for column in table.c:
                if isinstance(column.type, LargeBinary):
                    blobs.extend(bytes(b) for b in session.execute(select(column)).scalars() if b is not None)
    contact_ids = [cid for cid, _ in deks] + [subject.contact_id]
    for blob in blobs:
        for _, dek in deks:
            for cid in contact_ids:
                for field in FIELDS:
                    try:
                        plain = keyring.decrypt_field(dek, cid, field, blob)
                    except DecryptionError:
                        continue
                    assert PHONE.encode() not in plain


@pytest.mark.sqlite_only("scans vault.db and its WAL; tests/postgres/test_no_plaintext_at_rest.py scans PostgreSQL")
def test_the_number_is_nowhere_in_the_database_or_wal(
    client: TestClient, acme: TenantKeys, vault: Vault, subject: Subject
) -> None:
    run(client, acme, "erasure")
    files = sorted(Path(vault.settings.home).glob("vault.db*"))
    assert files
    for path in files:
        data = path.read_bytes()
        for form in number_forms(PHONE):
            assert form not in data, path.name


def test_the_wal_is_checkpointed_after_an_erasure(
    client: TestClient, acme: TenantKeys, vault: Vault, subject: Subject
) -> None:
    run(client, acme, "erasure")
    wal = Path(vault.settings.home) / "vault.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0


def test_an_erased_contacts_handles_answer_erased(
    client: TestClient, acme: TenantKeys, vault: Vault, subject: Subject
) -> None:
    run(client, acme, "erasure")
    with vault.database.read() as session:
        assert is_erased_handle(session, acme.tenant_id, subject.handle_digest)
        assert not is_erased_handle(session, acme.tenant_id, b"\x00" * 32)


def test_erasing_a_number_not_held_completes_with_nothing_erased(client: TestClient, acme: TenantKeys) -> None:
    out = run(client, acme, "erasure")
    assert out["status"] == "completed" and out["result"]["erased"] is False


def test_erasure_is_audited_without_the_number(client: TestClient, acme: TenantKeys, subject: Subject) -> None:
    run(client, acme, "erasure")
    entries = client.get("/v1/audit/entries", headers=acme.headers(Role.AUDITOR)).json()
    erased = [e for e in entries if e["action"] == "contact.erased"]
    assert len(erased) == 1 and erased[0]["target_id"] == subject.contact_id
    assert client.get("/v1/audit/verify", headers=acme.headers(Role.AUDITOR)).json()["ok"] is True


def test_the_subject_can_register_again_after_erasure(client: TestClient, acme: TenantKeys, subject: Subject) -> None:
    run(client, acme, "erasure")
    response = client.post("/v1/contacts", json={"phone": PHONE}, headers=acme.headers(Role.CAPTURE))
    assert response.status_code == 201 and response.json()["contact_id"] != subject.contact_id


def test_erasure_in_one_tenant_leaves_the_other_alone(
    client: TestClient, acme: TenantKeys, globex: TenantKeys, vault: Vault
) -> None:
    give_consent(client, acme)
    theirs = give_consent(client, globex)["contact_id"]
    run(client, acme, "erasure")
    assert _count(vault, t.contacts, t.contacts.c.id == theirs) == 1
    assert client.get(f"/v1/contacts/{theirs}/consents", headers=privacy(globex)).status_code == 200


def test_authorize_on_an_erased_contacts_handle_answers_erased(client: TestClient, acme: TenantKeys) -> None:
    give_consent(client, acme)
    contact_id = client.post("/v1/contacts", json={"phone": PHONE}, headers=acme.headers(Role.CAPTURE)).json()[
        "contact_id"
    ]
    line = {"number": "+8601012345678", "whitelist_status": "approved"}
    created = client.post("/v1/caller-lines", json=line, headers=acme.headers(Role.ADMIN))
    assert created.status_code == 201, created.text
    campaign = client.post(
        "/v1/campaigns",
        json={"name": "spring", "purpose": "marketing", "channel": "voice", "caller_lines": [line["number"]]},
        headers=acme.headers(Role.ADMIN),
    )
    assert campaign.status_code == 201, campaign.text
    handles = client.post(
        f"/v1/campaigns/{campaign.json()['campaign_id']}/handles",
        json={"contact_ids": [contact_id]},
        headers=acme.headers(Role.DIALER),
    ).json()["handles"]
    assert len(handles) == 1
    run(client, acme, "erasure")
    decision = client.post(
        "/v1/dial/authorize",
        json={"handle": handles[0]["handle"], "caller_line": line["number"]},
        headers=acme.headers(Role.GATEWAY),
    ).json()
    assert (decision["decision"], decision["reason"]) == ("deny", "erased")
