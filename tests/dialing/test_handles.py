"""POST /v1/campaigns/{id}/handles: random opaque tokens for the callable, reasons for the rest."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.dialing.conftest import PHONE, Dialing
from vault.clock import FixedClock
from vault.services import Role, Vault
from vault.storage import tables as t


def test_handles_are_random_prefixed_url_safe_tokens_with_an_expiry(dial: Dialing, clock: FixedClock) -> None:
    contact_id = dial.consent()
    campaign_id = dial.campaign()
    first = dial.handles(campaign_id, [contact_id])["handles"][0]
    second = dial.handles(campaign_id, [contact_id])["handles"][0]
    assert first["contact_id"] == contact_id
    assert first["handle"] != second["handle"]
    token = first["handle"]
    assert token.startswith("dh_") and len(token) >= 3 + 22
    assert all(ch.isalnum() or ch in "-_" for ch in token)
    assert PHONE[-8:] not in token
    assert first["expires_at"] == (clock.now() + timedelta(hours=24)).isoformat()


def test_only_a_keyed_digest_of_the_handle_is_stored(dial: Dialing, vault: Vault) -> None:
    contact_id = dial.consent()
    token = dial.handle(dial.campaign(), contact_id)
    with vault.database.read() as session:
        rows = session.execute(select(t.dial_handles)).all()
        keyring = vault.keyrings.get(session, dial.tenant.tenant_id)
    assert len(rows) == 1
    assert rows[0].digest == keyring.handle_digest(token)
    assert token.encode() not in repr(rows[0]).encode() and token[3:] not in repr(rows[0])


def test_uncallable_contacts_are_excluded_with_their_reason(dial: Dialing) -> None:
    consented = dial.consent()
    no_consent = dial.contact("+8613900139001")
    withdrawn = dial.consent("+8613900139002")
    dial.post("/v1/consents/withdraw", {"contact_id": withdrawn, "purpose": "marketing"}, Role.CAPTURE)
    suppressed = dial.consent("+8613900139003")
    dial.post("/v1/suppressions", {"phone": "+8613900139003", "reason": "customer_request"}, Role.CAPTURE, 201)
    sms_only = dial.consent("+8613900139004", channels=["sms"])
    ids = [consented, no_consent, withdrawn, suppressed, sms_only, "ct_doesnotexist"]
    issued = dial.handles(dial.campaign(), ids)
    assert [h["contact_id"] for h in issued["handles"]] == [consented]
    assert {(e["contact_id"], e["reason"]) for e in issued["excluded"]} == {
        (no_consent, "no_consent"),
        (withdrawn, "consent_withdrawn"),
        (suppressed, "suppressed"),
        (sms_only, "channel_not_consented"),
        ("ct_doesnotexist", "unknown_contact"),
    }


def test_time_window_and_caps_are_not_checked_at_issuance(dial: Dialing, clock: FixedClock) -> None:
    contact_id = dial.consent()
    clock.advance(timedelta(hours=11))  # 23:00 in Shanghai
    issued = dial.handles(dial.campaign(), [contact_id])
    assert issued["excluded"] == [] and len(issued["handles"]) == 1


def test_a_purpose_relying_on_the_contract_needs_no_consent(dial: Dialing) -> None:
    contact_id = dial.contact("+8613900139001")
    assert dial.handles(dial.campaign(purpose="service"), [contact_id])["excluded"] == []


def test_issuance_writes_one_audit_entry_per_batch_with_counts(dial: Dialing, vault: Vault) -> None:
    ids = [dial.consent(f"+86139001390{i:02d}") for i in range(5)]
    dial.handles(dial.campaign(), [*ids, "ct_unknown"])
    with vault.database.read() as session:
        entries = session.execute(
            select(t.audit_entries.c.details).where(t.audit_entries.c.action == "dial.handles_issued")
        ).scalars().all()  # fmt: skip
    assert len(entries) == 1
    assert entries[0]["issued"] == 5 and entries[0]["excluded_by_reason"] == {"unknown_contact": 1}


def test_duplicate_contact_ids_get_one_handle(dial: Dialing) -> None:
    contact_id = dial.consent()
    assert len(dial.handles(dial.campaign(), [contact_id, contact_id])["handles"]) == 1


def test_batches_over_10000_are_422(dial: Dialing) -> None:
    campaign_id = dial.campaign()
    out = dial.post(f"/v1/campaigns/{campaign_id}/handles", {"contact_ids": ["ct_x"] * 10_001}, Role.DIALER, 422)
    assert out["error"]["field"] == "contact_ids"


def test_closed_campaign_issues_no_handles(dial: Dialing) -> None:
    campaign_id = dial.campaign()
    dial.post(f"/v1/campaigns/{campaign_id}/close", {}, Role.DIALER)
    out = dial.post(f"/v1/campaigns/{campaign_id}/handles", {"contact_ids": ["ct_x"]}, Role.DIALER, 409)
    assert out["error"]["code"] == "campaign_closed"


def test_unknown_campaign_is_404(dial: Dialing) -> None:
    out = dial.post("/v1/campaigns/cm_nope/handles", {"contact_ids": ["ct_x"]}, Role.DIALER, 404)
    assert out["error"]["code"] == "campaign_not_found"


def test_licence_missing_excludes_at_issuance_when_enforced(dial: Dialing) -> None:
    contact_id = dial.consent()
    campaign_id = dial.campaign()
    admin = dial.tenant.headers(Role.ADMIN)
    assert dial.client.put("/v1/tenant/policy", json={"licences_enforced": True}, headers=admin).status_code == 200
    assert dial.handles(campaign_id, [contact_id])["excluded"] == [
        {"contact_id": contact_id, "reason": "licence_missing"}
    ]


def test_a_callee_who_refused_is_excluded_for_the_cool_off_even_after_consenting_again(
    dial: Dialing, clock: FixedClock
) -> None:
    paris = "+33612345678"
    campaign_id = dial.campaign()
    clock.advance(timedelta(hours=7))  # Monday 12:00 in Paris, inside its calling hours
    handle = dial.handle(campaign_id, dial.consent(paris, jurisdiction="FR"))
    attempt_id = dial.authorize(handle)["attempt_id"]
    dial.post("/v1/dial/outcome", {"attempt_id": attempt_id, "outcome": "opted_out"}, Role.GATEWAY)
    clock.advance(timedelta(days=1))
    dial.post("/v1/suppressions/remove", {"phone": paris, "reason": "entered_in_error"}, Role.PRIVACY)
    contact_id = dial.consent(paris, jurisdiction="FR")
    assert dial.handles(campaign_id, [contact_id])["excluded"] == [
        {"contact_id": contact_id, "reason": "refusal_cooloff"}
    ]


def test_every_handle_of_a_batch_is_distinct_down_to_its_random_part(dial: Dialing) -> None:
    ids = [dial.consent(f"+86139001390{i:02d}") for i in range(20)]
    tokens = [h["handle"] for h in dial.handles(dial.campaign(), ids)["handles"]]
    assert len(tokens) == 20 and len(set(tokens)) == 20
    assert len({token[-32:-24] for token in tokens}) == 20


def test_contact_ids_are_matched_exactly_whatever_they_contain(dial: Dialing) -> None:
    odd = ['ct_"quoted"', "ct_back\\slash", "ct_ünïcødé", "ct_x' OR '1'='1", "[]", "null"]
    issued = dial.handles(dial.campaign(), odd)
    assert issued["excluded"] == [{"contact_id": c, "reason": "unknown_contact"} for c in odd]


def test_a_batch_of_10000_contact_ids_is_answered_in_full(dial: Dialing) -> None:
    contact_id = dial.consent()
    unknown = [f"ct_unknown{i}" for i in range(9_999)]
    issued = dial.handles(dial.campaign(), [*unknown[:5_000], contact_id, *unknown[5_000:]])
    assert [h["contact_id"] for h in issued["handles"]] == [contact_id]
    assert [e["contact_id"] for e in issued["excluded"]] == unknown


def test_handle_ids_sort_by_issuance_time(dial: Dialing, vault: Vault, clock: FixedClock) -> None:
    ids = [dial.consent(f"+86139001390{i:02d}") for i in range(3)]
    campaign_id = dial.campaign()
    dial.handles(campaign_id, ids)
    clock.advance(timedelta(seconds=1))
    dial.handles(campaign_id, ids)
    with vault.database.read() as session:
        rows = session.execute(select(t.dial_handles.c.id, t.dial_handles.c.created_at)).all()
    assert [row.created_at for row in sorted(rows)] == sorted(row.created_at for row in rows)
