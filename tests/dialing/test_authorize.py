"""POST /v1/dial/authorize: the audited reveal on allow, deny reasons about the handle, contact and consent,
fail-closed. (Windows, caps, caller lines and licences: test_authorize_when.py.)"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import select

from tests.dialing.conftest import LINE, PHONE, Dialing
from vault.clock import FixedClock
from vault.crypto import KeyProviderUnavailable
from vault.services import Actor, KeyringCache, Role, Vault
from vault.services.requests import erase_contact
from vault.storage import tables as t
from vault.storage import upgrade_schema
from vault.storage._schema import alembic_config

Ready = tuple[Dialing, str, str]


def _audit(vault: Vault, action: str) -> list[dict[str, object]]:
    with vault.database.read() as session:
        rows = session.execute(select(t.audit_entries).where(t.audit_entries.c.action == action)).mappings().all()
    return [dict(r) for r in rows]


def test_allow_returns_the_destination_and_an_attempt(ready: Ready, vault: Vault) -> None:
    dial, contact_id, handle = ready
    answer = dial.authorize(handle)
    assert answer["decision"] == "allow" and answer["destination"] == PHONE
    with vault.database.read() as session:
        attempt = session.execute(select(t.attempts).where(t.attempts.c.id == answer["attempt_id"])).one()
    assert (attempt.contact_id, attempt.purpose, attempt.channel) == (contact_id, "marketing", "voice")


def test_allow_is_an_audited_reveal_without_the_number(ready: Ready, vault: Vault) -> None:
    dial, contact_id, handle = ready
    attempt_id = dial.authorize(handle)["attempt_id"]
    (reveal,) = _audit(vault, "dial.reveal")
    assert reveal["target_id"] == attempt_id and str(reveal["actor"]).startswith("gateway:")
    details = reveal["details"]
    assert isinstance(details, dict)
    assert details["contact_id"] == contact_id and details["purpose"] == "marketing" and details["policy"]
    with vault.database.read() as session:
        everything = json.dumps([list(map(str, r)) for r in session.execute(select(t.audit_entries)).all()])
    assert PHONE[1:] not in everything and PHONE[-8:] not in everything


def test_deny_is_audited_with_its_reason(ready: Ready, vault: Vault, clock: FixedClock) -> None:
    dial, _, handle = ready
    clock.set(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    assert dial.reason(handle) == "quiet_hours"
    (denied,) = _audit(vault, "dial.denied")
    assert denied["reason"] == "quiet_hours"


def test_unknown_handle(dial: Dialing) -> None:
    assert dial.reason("dh_" + "A" * 32) == "unknown_handle"


def _with_another_random_part(handle: str) -> str:
    """The same row named (the selector kept), with the last character of the random part changed."""
    return handle[:-1] + ("B" if handle[-1] == "A" else "A")


def test_a_handle_with_a_known_selector_and_a_wrong_random_part_is_unknown(ready: Ready) -> None:
    dial, _, handle = ready
    forged = _with_another_random_part(handle)
    assert dial.reason(forged) == "unknown_handle"
    assert dial.authorize(handle)["decision"] == "allow"


def test_a_handle_with_a_wrong_random_part_cannot_be_revoked(ready: Ready) -> None:
    dial, _, handle = ready
    forged = _with_another_random_part(handle)
    assert dial.post("/v1/handles/revoke", {"handle": forged}, Role.DIALER, 404)["error"]["code"] == "unknown_handle"
    assert dial.authorize(handle)["decision"] == "allow"


def test_a_handle_issued_before_revision_0006_still_redeems(dial: Dialing, vault: Vault, clock: FixedClock) -> None:
    contact_id = dial.consent()
    campaign_id = dial.campaign()
    handle = dial.handle(campaign_id, contact_id)
    command.downgrade(alembic_config(vault.database), "0005")
    legacy = "dh_" + secrets.token_urlsafe(24)  # as issued then: random, naming no row
    with vault.database.write() as session:
        session.execute(
            t.dial_handles.insert().values(
                digest=vault.keyrings.get(session, dial.tenant.tenant_id).handle_digest(legacy), id="hd_legacy",
                tenant_id=dial.tenant.tenant_id, campaign_id=campaign_id, contact_id=contact_id,
                created_at=clock.now(), expires_at=clock.now() + timedelta(hours=24),
            )
        )  # fmt: skip
    upgrade_schema(vault.database)
    assert dial.authorize(legacy)["decision"] == "allow"
    assert dial.reason(_with_another_random_part(legacy)) == "unknown_handle"
    assert dial.authorize(handle)["decision"] == "allow"


def test_a_handle_whose_selector_is_sorted_by_the_second_still_redeems(
    dial: Dialing, vault: Vault, clock: FixedClock
) -> None:
    contact_id = dial.consent()
    campaign_id = dial.campaign()
    selector = "kbcdefg" + "q" * 13  # as issued before ids were sorted by the millisecond: 20 letters
    handle = "dh_" + selector + secrets.token_urlsafe(24)
    with vault.database.write() as session:
        session.execute(
            t.dial_handles.insert().values(
                digest=vault.keyrings.get(session, dial.tenant.tenant_id).handle_digest(handle), id="hd_" + selector,
                tenant_id=dial.tenant.tenant_id, campaign_id=campaign_id, contact_id=contact_id,
                created_at=clock.now(), expires_at=clock.now() + timedelta(hours=24),
            )
        )  # fmt: skip
    assert dial.authorize(handle)["decision"] == "allow"
    assert dial.reason(_with_another_random_part(handle)) == "unknown_handle"


def test_handle_expired(ready: Ready, clock: FixedClock) -> None:
    dial, _, handle = ready
    clock.advance(timedelta(hours=24, seconds=1))
    assert dial.reason(handle) == "handle_expired"


def test_revoked_handle_is_refused(ready: Ready) -> None:
    dial, _, handle = ready
    assert dial.post("/v1/handles/revoke", {"handle": handle}, Role.DIALER) == {"revoked": True}
    assert dial.reason(handle) == "handle_expired"


def test_campaign_closed(dial: Dialing) -> None:
    contact_id = dial.consent()
    campaign_id = dial.campaign()
    handle = dial.handle(campaign_id, contact_id)
    dial.post(f"/v1/campaigns/{campaign_id}/close", {}, Role.DIALER)
    assert dial.reason(handle) == "campaign_closed"


def test_erased(ready: Ready, vault: Vault, clock: FixedClock) -> None:
    dial, contact_id, handle = ready
    privacy = Actor(dial.tenant.tenant_id, "test", "privacy")
    with vault.database.write() as session:
        assert erase_contact(session, vault, privacy, contact_id, clock.now()).erased
    assert dial.reason(handle) == "erased"


def test_suppressed(ready: Ready) -> None:
    dial, _, handle = ready
    dial.post("/v1/suppressions", {"phone": PHONE, "reason": "customer_request"}, Role.CAPTURE, 201)
    assert dial.reason(handle) == "suppressed"


def test_no_consent(dial: Dialing) -> None:
    """A service call needs no consent until the tenant's policy says calls in CN need one."""
    contact_id = dial.contact(PHONE)
    handle = dial.handle(dial.campaign(purpose="service"), contact_id)
    overrides = {
        "jurisdiction": {
            "CN": {
                "consent_requirement": [
                    {"id": "acme.cn.consent.service", "purposes": ["service"], "source": "acme compliance decision",
                     "status": "tenant", "effective_from": "2020-01-01"}
                ]
            }
        }
    }  # fmt: skip
    response = dial.client.put("/v1/tenant/policy", json=overrides, headers=dial.tenant.headers(Role.ADMIN))
    assert response.status_code == 200, response.text
    assert dial.reason(handle) == "no_consent"


def test_consent_withdrawn(ready: Ready) -> None:
    dial, contact_id, handle = ready
    dial.post("/v1/consents/withdraw", {"contact_id": contact_id, "purpose": "marketing"}, Role.CAPTURE)
    assert dial.reason(handle) == "consent_withdrawn"


def test_consent_expired(dial: Dialing, clock: FixedClock) -> None:
    contact_id = dial.consent(expires_at=(clock.now() + timedelta(hours=1)).isoformat())
    handle = dial.handle(dial.campaign(), contact_id)
    clock.advance(timedelta(hours=2))
    assert dial.reason(handle) == "consent_expired"


def test_channel_not_consented(ready: Ready, clock: FixedClock) -> None:
    dial, _, handle = ready
    clock.advance(timedelta(minutes=1))
    dial.consent(channels=["sms"])  # a new grant for the purpose, no longer covering voice
    assert dial.reason(handle) == "channel_not_consented"


class _ProviderDown:
    name = "down"

    def wrap(self, secret: bytes, *, context: str) -> bytes:
        raise KeyProviderUnavailable()

    def unwrap(self, wrapped: bytes, *, context: str) -> bytes:
        raise KeyProviderUnavailable()


def test_key_provider_down_fails_closed_with_503(ready: Ready, vault: Vault) -> None:
    dial, _, handle = ready
    headers = dial.tenant.headers(Role.GATEWAY)
    vault.keyrings = KeyringCache(_ProviderDown())
    response = dial.client.post("/v1/dial/authorize", json={"handle": handle, "caller_line": LINE}, headers=headers)
    assert response.status_code == 503 and response.json()["error"]["code"] == "key_provider_unavailable"
    assert "destination" not in response.text
