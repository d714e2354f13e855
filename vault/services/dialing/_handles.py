"""Dial handles: opaque random tokens for (campaign, contact), issued in batches and stored only as digests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import phonenumbers
from sqlalchemy import and_, func, or_, select, update
from sqlmodel import Session

from ...crypto import TenantKeyring, new_token
from ...errors import Conflict, NotFound
from ...policy import (
    CALLER_LINE_NOT_REGISTERED,
    CALLER_LINE_NOT_WHITELISTED,
    FREQUENCY_CAP,
    QUIET_HOURS,
    UNKNOWN_PURPOSE,
    DialFacts,
    LicenceFact,
    PolicySet,
    Purpose,
    UnknownPurpose,
    decide,
)
from ...storage import bulk_insert
from ...storage import tables as t
from .._context import Actor, Vault
from .._ids import new_id
from .._phone import e164_number
from ..audit import record_event
from ..contacts import decrypt_number
from ._authorize import CALLEE_FACTS
from ._facts import REFUSAL_OUTCOMES, consent_fact, licence_facts, licences_needed, policy_ref

__all__ = ["HANDLE_PREFIX", "IssuedHandles", "issue_handles", "revoke_handle"]

HANDLE_PREFIX = "dh"
HANDLE_BYTES = 24  # 192 random bits
UNKNOWN_CONTACT = "unknown_contact"
# Checked when the call is placed, not when the handle is issued.
_DIAL_TIME_REASONS = frozenset({QUIET_HOURS, FREQUENCY_CAP, CALLER_LINE_NOT_REGISTERED, CALLER_LINE_NOT_WHITELISTED})
_CHUNK = 2000


@dataclass(slots=True)
class IssuedHandles:
    campaign_id: str
    expires_at: datetime
    handles: list[tuple[str, str]] = field(default_factory=list)  # (contact_id, token)
    excluded: list[tuple[str, str]] = field(default_factory=list)  # (contact_id, reason)


@lru_cache(maxsize=512)
def _region_of_country(country_code: int) -> str | None:
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    return regions[0] if len(regions) == 1 and regions[0] != "001" else None


@lru_cache(maxsize=512)
def _subdivision_rules(policy: PolicySet, region: str) -> bool:
    prefix = region + "-"
    return any(code.startswith(prefix) for code in policy.jurisdiction_codes)


def _callee_jurisdiction(policy: PolicySet, keyring: TenantKeyring, row: Any) -> tuple[str | None, frozenset[str]]:
    """Region and subdivisions of a callee: only what the rules checked at issuance need, cheaply.

    Time zones (for the calling window) are not needed here; a number's region comes from its country
    code unless the code is shared, and subdivisions are looked up only where the policy has rules for them.
    """
    blind = bytes(row.blind_index)
    cached = CALLEE_FACTS.get(blind)
    if cached is not None:
        return cached.region, cached.subdivisions
    e164 = decrypt_number(keyring, row.id, row.wrapped_dek, row.phone_ct)
    parsed = e164_number(e164)
    region = _region_of_country(parsed.country_code) if parsed is not None else None
    if region is None or _subdivision_rules(policy, region):
        full = CALLEE_FACTS.get_or_compute(blind, lambda: e164)
        return full.region, full.subdivisions
    return region, frozenset()


def _everywhere(policy: PolicySet, purpose: Purpose | None, channel: str) -> Any:
    """Every rule of every jurisdiction that covers the purpose and channel."""
    assert purpose is not None
    return policy.plan(tuple(dict.fromkeys(("default", *policy.jurisdiction_codes))), purpose, channel)


def _region_needed(policy: PolicySet, purpose: Purpose, channel: str) -> tuple[bool, bool]:
    """(for every callee, for callees who refused): does the callee's jurisdiction change an issuance check?"""
    everywhere = _everywhere(policy, purpose, channel)
    consent = not purpose.consent_based and bool(everywhere.consent_requirements)
    return consent or licences_needed(policy, everywhere), bool(everywhere.cooloffs)


def _campaign(session: Session, tenant_id: str, campaign_id: str) -> Any:
    c = t.campaigns.c
    row = session.execute(
        select(c.id, c.purpose, c.channel, c.status).where(c.id == campaign_id, c.tenant_id == tenant_id)
    ).one_or_none()
    if row is None:
        raise NotFound("unknown campaign", code="campaign_not_found")
    if row.status != "open":
        raise Conflict("the campaign is closed", code="campaign_closed")
    return row


def _contacts(session: Session, tenant_id: str, purpose: str, ids: Sequence[str], now: datetime) -> list[Any]:
    ct, cs, sp = t.contacts.c, t.consent_states.c, t.suppressions.c
    joined = t.contacts.outerjoin(
        t.consent_states, and_(cs.tenant_id == tenant_id, cs.contact_id == ct.id, cs.purpose == purpose)
    ).outerjoin(
        t.suppressions,
        and_(
            sp.tenant_id == tenant_id,
            sp.blind_index == ct.blind_index,
            or_(sp.expires_at.is_(None), sp.expires_at > now),
        ),
    )
    query = select(
        ct.id, ct.blind_index, ct.wrapped_dek, ct.phone_ct,
        cs.status, cs.channels, cs.given_at, cs.expires_at, cs.withdrawn_at, sp.id.label("suppression_id"),
    ).select_from(joined)  # fmt: skip
    rows: list[Any] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows.extend(session.execute(query.where(ct.tenant_id == tenant_id, ct.id.in_(chunk))).all())
    return rows


def _last_refusals(session: Session, tenant_id: str, purpose: str, ids: Sequence[str]) -> dict[str, datetime]:
    a = t.attempts.c
    out: dict[str, datetime] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        out.update(
            (contact_id, at)
            for contact_id, at in session.execute(
                select(a.contact_id, func.max(a.outcome_at))
                .where(
                    a.tenant_id == tenant_id, a.purpose == purpose, a.contact_id.in_(chunk),
                    a.outcome.in_(REFUSAL_OUTCOMES), a.outcome_at.is_not(None),
                )
                .group_by(a.contact_id)
            )
        )  # fmt: skip
    return out


def issue_handles(
    session: Session, vault: Vault, actor: Actor, campaign_id: str, contact_ids: Sequence[str], now: datetime
) -> IssuedHandles:
    """Handles for the contacts that may be called for the campaign's purpose (the time window and the
    frequency caps are checked when the call is placed); the others are excluded with the reason."""
    tenant_id = actor.tenant_id
    campaign = _campaign(session, tenant_id, campaign_id)
    keyring = vault.keyrings.get(session, tenant_id)
    policy = vault.policies.for_tenant(session, tenant_id)
    expires_at = now + timedelta(seconds=vault.settings.handle_ttl_seconds)
    result = IssuedHandles(campaign_id, expires_at)
    wanted = list(dict.fromkeys(contact_ids))
    rows = {r.id: r for r in _contacts(session, tenant_id, campaign.purpose, wanted, now)}
    try:
        purpose = policy.purpose(campaign.purpose)
    except UnknownPurpose:
        purpose = None

    # Where the callee is matters at issuance only for rules checked here: a jurisdiction's consent
    # requirement (for purposes whose legal basis is not consent), refusal cool-offs (only for callees
    # who refused) and licences (when enforced). Otherwise no number is decrypted at all.
    for_all, for_refusals = _region_needed(policy, purpose, campaign.channel) if purpose else (False, False)
    refusals: dict[str, datetime] = {}
    if for_refusals and rows:
        refusals = _last_refusals(session, tenant_id, campaign.purpose, list(rows))
    licences: tuple[LicenceFact, ...] = ()
    if for_all and licences_needed(policy, _everywhere(policy, purpose, campaign.channel)):
        licences = licence_facts(session, tenant_id)
    nowhere: tuple[str | None, frozenset[str]] = (None, frozenset())

    digest = keyring.handle_digest
    inserts: list[dict[str, Any]] = []
    for contact_id in wanted:
        row = rows.get(contact_id)
        if row is None:
            result.excluded.append((contact_id, UNKNOWN_CONTACT))
            continue
        if purpose is None:
            result.excluded.append((contact_id, UNKNOWN_PURPOSE))
            continue
        needs_region = for_all or contact_id in refusals
        region, subdivisions = _callee_jurisdiction(policy, keyring, row) if needs_region else nowhere
        facts = DialFacts(
            purpose=campaign.purpose, channel=campaign.channel, handle_state="valid", campaign_open=True,
            contact_erased=False, suppressed=row.suppression_id is not None,
            consent=consent_fact(row.status, row.channels, row.given_at, row.expires_at, row.withdrawn_at),
            callee_region=region, callee_subdivisions=subdivisions, callee_time_zones=(), attempt_times=(),
            last_refusal_at=refusals.get(contact_id), caller_line=None, licences=licences,
        )  # fmt: skip
        reasons = [r for r in decide(policy, facts, now).reasons if r not in _DIAL_TIME_REASONS]
        if reasons:
            result.excluded.append((contact_id, reasons[0]))
            continue
        token = new_token(HANDLE_PREFIX, HANDLE_BYTES)
        result.handles.append((contact_id, token))
        inserts.append(
            {
                "digest": digest(token), "id": new_id("hd"), "tenant_id": tenant_id, "campaign_id": campaign_id,
                "contact_id": contact_id, "created_at": now, "expires_at": expires_at, "revoked_at": None,
            }
        )  # fmt: skip
    bulk_insert(session, t.dial_handles, inserts)
    record_event(
        session, keyring, actor, "dial.handles_issued", now, target_type="campaign", target_id=campaign_id,
        details={
            "requested": len(contact_ids), "issued": len(result.handles), "excluded": len(result.excluded),
            "excluded_by_reason": dict(Counter(reason for _, reason in result.excluded)),
            "expires_at": expires_at.isoformat(), "policy": policy_ref(policy),
        },
    )  # fmt: skip
    return result


def revoke_handle(session: Session, vault: Vault, actor: Actor, handle: str, now: datetime) -> dict[str, Any]:
    tenant_id = actor.tenant_id
    keyring = vault.keyrings.get(session, tenant_id)
    h = t.dial_handles.c
    row = session.execute(
        select(h.id, h.campaign_id, h.revoked_at).where(
            h.digest == keyring.handle_digest(handle), h.tenant_id == tenant_id
        )
    ).one_or_none()
    if row is None:
        raise NotFound("unknown handle", code="unknown_handle")
    if row.revoked_at is None:
        session.execute(update(t.dial_handles).where(h.id == row.id).values(revoked_at=now))
        record_event(
            session, keyring, actor, "dial.handle_revoked", now, target_type="dial_handle", target_id=row.id,
            details={"campaign_id": row.campaign_id},
        )  # fmt: skip
    return {"revoked": True}
