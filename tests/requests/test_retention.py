"""Retention purge with an injected now: what is past its period goes, the rest stays; dry runs count only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import TenantKeys
from tests.requests.conftest import Subject, run
from vault.services import Role, Vault
from vault.services.requests import rules_for
from vault.services.retention import purge_expired
from vault.storage import tables as t


def _count(vault: Vault, table: Any) -> int:
    with vault.database.read() as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def _purge(vault: Vault, tenant_id: str, now: datetime, dry_run: bool = False) -> dict[str, int]:
    with vault.database.write() as session:
        return purge_expired(session, vault, "test", tenant_id, now, dry_run=dry_run)


def _longest(vault: Vault, tenant_id: str) -> timedelta:
    with vault.database.read() as session:
        rules = rules_for(session, vault, tenant_id)
        periods = [
            rules.retention(k, ["default", "CN"]).period
            for k in ("call_attempt", "consent_evidence", "complaint", "dsr_record")
        ]
    return max(p for p in periods if p is not None)


def _resolve(client: TestClient, keys: TenantKeys, complaint_id: str | None) -> None:
    response = client.post(
        f"/v1/complaints/{complaint_id}/resolve", json={"resolution": "apologised"}, headers=keys.headers(Role.PRIVACY)
    )
    assert response.status_code == 200, response.text


def test_nothing_recent_is_purged(vault: Vault, acme: TenantKeys, subject: Subject) -> None:
    counts = _purge(vault, acme.tenant_id, vault.clock.now())
    assert set(counts.values()) == {0}


def test_everything_past_retention_is_purged(
    client: TestClient, vault: Vault, acme: TenantKeys, subject: Subject
) -> None:
    _resolve(client, acme, subject.complaint_id)
    run(client, acme, "access")
    later = vault.clock.now() + _longest(vault, acme.tenant_id) + timedelta(days=400)
    counts = _purge(vault, acme.tenant_id, later)
    assert counts["call_attempt"] == 1 and counts["complaint"] == 1 and counts["dsr_record"] == 1
    assert counts["consent_evidence"] == 2  # the grant and its withdrawal (the complaint withdrew it)
    assert _count(vault, t.attempts) == 0 and _count(vault, t.complaints) == 0
    assert _count(vault, t.consent_events) == 0 and _count(vault, t.subject_requests) == 0


def test_a_live_consent_is_never_purged(client: TestClient, vault: Vault, acme: TenantKeys) -> None:
    from tests.requests.conftest import give_consent

    give_consent(client, acme, purpose="service")
    with vault.database.read() as session:
        expires = session.execute(select(t.consent_events.c.expires_at)).scalar_one()
    now = vault.clock.now() + timedelta(days=365) if expires is None else expires - timedelta(days=1)
    assert _purge(vault, acme.tenant_id, now)["consent_evidence"] == 0


def test_a_dry_run_counts_without_deleting(
    client: TestClient, vault: Vault, acme: TenantKeys, subject: Subject
) -> None:
    later = vault.clock.now() + _longest(vault, acme.tenant_id) + timedelta(days=400)
    counts = _purge(vault, acme.tenant_id, later, dry_run=True)
    assert counts["call_attempt"] == 1
    assert _count(vault, t.attempts) == 1


def test_a_purge_is_audited_with_counts_only(
    client: TestClient, vault: Vault, acme: TenantKeys, subject: Subject
) -> None:
    _purge(vault, acme.tenant_id, vault.clock.now() + timedelta(days=4000))
    entries = client.get("/v1/audit/entries", headers=acme.headers(Role.AUDITOR)).json()
    purged = [e for e in entries if e["action"] == "retention.purged"]
    assert len(purged) == 1 and purged[0]["details"]["call_attempt"] == 1


def test_erased_handle_markers_go_once_the_handle_would_have_expired(
    client: TestClient, vault: Vault, acme: TenantKeys, subject: Subject
) -> None:
    run(client, acme, "erasure")
    assert _purge(vault, acme.tenant_id, vault.clock.now())["erased_handle"] == 0
    assert _purge(vault, acme.tenant_id, vault.clock.now() + timedelta(days=2))["erased_handle"] == 1


def test_dial_handles_go_once_past_their_period_after_expiry(vault: Vault, acme: TenantKeys, subject: Subject) -> None:
    with vault.database.read() as session:
        period = rules_for(session, vault, acme.tenant_id).retention("dial_handle").period
        (expires_at,) = session.execute(select(t.dial_handles.c.expires_at)).scalars()
    assert period is not None
    assert _purge(vault, acme.tenant_id, expires_at + period)["dial_handle"] == 0
    assert _purge(vault, acme.tenant_id, expires_at + period + timedelta(seconds=1))["dial_handle"] == 1
    assert _count(vault, t.dial_handles) == 0
