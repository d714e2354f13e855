"""Dial handles: opaque tokens for (campaign, contact), issued in batches and stored only as digests."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import phonenumbers
from sqlalchemy import JSON, Boolean, ColumnElement, Text, and_, bindparam, cast, func, or_, select, type_coerce, update
from sqlalchemy.engine import Dialect
from sqlalchemy.types import NullType
from sqlmodel import Session

from ...crypto import TenantKeyring
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
from ...storage import Prepared, Tx, as_tx, bulk_insert
from ...storage import tables as t
from .._context import Actor, Vault
from .._handle_tokens import HANDLE_ID_PREFIX, handle_key, new_handle_tokens
from .._ids import new_sorted_ids
from .._phone import e164_number
from ..audit import record_event
from ..contacts import decrypt_number
from ._authorize import CALLEE_FACTS
from ._facts import REFUSAL_OUTCOMES, consent_fact, licence_facts, licences_needed, policy_ref

__all__ = ["IssuedHandles", "issue_handles", "revoke_handle"]

UNKNOWN_CONTACT = "unknown_contact"
# Checked when the call is placed, not when the handle is issued.
_DIAL_TIME_REASONS = frozenset({QUIET_HOURS, FREQUENCY_CAP, CALLER_LINE_NOT_REGISTERED, CALLER_LINE_NOT_WHITELISTED})


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


_c = t.campaigns.c
_CAMPAIGN = Prepared(
    select(_c.purpose, _c.channel, _c.status).where(_c.id == bindparam("campaign"), _c.tenant_id == bindparam("tenant"))
)


def _wanted(dialect: str) -> Any:
    """The requested ids as a table, from one JSON array parameter: the statement is prepared once, whatever
    the batch size."""
    ids = bindparam("ids", type_=Text)
    rows = func.json_array_elements_text(cast(ids, JSON)) if dialect == "postgresql" else func.json_each(ids)
    return rows.table_valued("value").alias("wanted")


def _mostly_true(dialect: str, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """Tells SQLite (without statistics) that most rows match, so it looks each id up by its key instead of
    scanning the tenant's whole index; PostgreSQL keeps statistics and has no such function."""
    return func.likely(condition, type_=Boolean) if dialect == "sqlite" else condition


# As the driver returns them: they key the decision memo, and are converted only for distinct values.
_AS_STORED = NullType()


def _contacts_query(dialect: str) -> Prepared:
    ct, cs, sp = t.contacts.c, t.consent_states.c, t.suppressions.c
    wanted = _wanted(dialect)
    tenant = bindparam("tenant", type_=ct.tenant_id.type)
    joined = (
        wanted.join(t.contacts, ct.id == wanted.c.value)
        .outerjoin(
            t.consent_states, and_(cs.tenant_id == tenant, cs.contact_id == ct.id, cs.purpose == bindparam("purpose"))
        )
        .outerjoin(
            t.suppressions,
            and_(
                sp.tenant_id == tenant,
                sp.blind_index == ct.blind_index,
                or_(sp.expires_at.is_(None), sp.expires_at > bindparam("now", type_=sp.expires_at.type)),
            ),
        )
    )
    stored = [
        type_coerce(c, _AS_STORED).label(c.name) for c in (cs.channels, cs.given_at, cs.expires_at, cs.withdrawn_at)
    ]
    return Prepared(
        select(ct.id, cs.status, *stored, sp.id.label("suppression_id"))
        .select_from(joined)
        .where(_mostly_true(dialect, ct.tenant_id == tenant))
    )


def _sealed_numbers_query(dialect: str) -> Prepared:
    ct = t.contacts.c
    wanted = _wanted(dialect)
    return Prepared(
        select(ct.id, ct.blind_index, ct.wrapped_dek, ct.phone_ct)
        .select_from(wanted.join(t.contacts, ct.id == wanted.c.value))
        .where(_mostly_true(dialect, ct.tenant_id == bindparam("tenant")))
    )


def _refusals_query(dialect: str) -> Prepared:
    a = t.attempts.c
    # An IN over the ids: each is looked up through the (tenant, contact, purpose) index.
    return Prepared(
        select(a.contact_id, func.max(a.outcome_at).label("at"))
        .where(
            a.tenant_id == bindparam("tenant"), a.contact_id.in_(select(_wanted(dialect).c.value)),
            a.purpose == bindparam("purpose"),
            or_(*(a.outcome == outcome for outcome in REFUSAL_OUTCOMES)), a.outcome_at.is_not(None),
        )
        .group_by(a.contact_id)
    )  # fmt: skip


_DIALECTS = ("sqlite", "postgresql")
_CONTACTS = {dialect: _contacts_query(dialect) for dialect in _DIALECTS}
_SEALED_NUMBERS = {dialect: _sealed_numbers_query(dialect) for dialect in _DIALECTS}
_REFUSALS = {dialect: _refusals_query(dialect) for dialect in _DIALECTS}
_HANDLE_COLUMNS = ("digest", "id", "tenant_id", "campaign_id", "contact_id", "created_at", "expires_at")


@lru_cache(maxsize=8)
def _time_reader(dialect: Dialect) -> Callable[[Any], Any]:
    """A stored timestamp as an aware datetime, by the conversion of the timestamp columns' (shared) type."""
    processor = t.consent_states.c.given_at.type.dialect_impl(dialect).result_processor(dialect, None)
    assert processor is not None
    return processor


def _campaign(tx: Tx, tenant_id: str, campaign_id: str) -> Any:
    row = _CAMPAIGN.first(tx, {"campaign": campaign_id, "tenant": tenant_id})
    if row is None:
        raise NotFound("unknown campaign", code="campaign_not_found")
    if row.status != "open":
        raise Conflict("the campaign is closed", code="campaign_closed")
    return row


def _by_id(rows: list[Any]) -> dict[str, Any]:
    return {row.id: row for row in rows}


def _refusal_reason(policy: PolicySet, facts: DialFacts, now: datetime) -> str | None:
    """The first reason the contact may not be given a handle, leaving out what is checked when dialing."""
    return next((r for r in decide(policy, facts, now).reasons if r not in _DIAL_TIME_REASONS), None)


def issue_handles(
    session: Session, vault: Vault, actor: Actor, campaign_id: str, contact_ids: Sequence[str], now: datetime
) -> IssuedHandles:
    """Handles for the contacts that may be called for the campaign's purpose (the time window and the
    frequency caps are checked when the call is placed); the others are excluded with the reason."""
    tenant_id = actor.tenant_id
    tx = as_tx(session)
    dialect = tx.dialect.name
    campaign = _campaign(tx, tenant_id, campaign_id)
    keyring = vault.keyrings.get(tx, tenant_id)
    policy = vault.policies.for_tenant(tx, tenant_id)
    expires_at = now + timedelta(seconds=vault.settings.handle_ttl_seconds)
    result = IssuedHandles(campaign_id, expires_at)
    wanted = list(dict.fromkeys(contact_ids))
    # In key order, the lookups walk the contacts' indexes page by page instead of at random.
    ids = json.dumps(sorted(wanted))
    scope = {"ids": ids, "tenant": tenant_id, "purpose": campaign.purpose}
    rows = _by_id(_CONTACTS[dialect].all(tx, {**scope, "now": now}))
    try:
        purpose = policy.purpose(campaign.purpose)
    except UnknownPurpose:
        purpose = None

    # Where the callee is matters at issuance only for rules checked here: a jurisdiction's consent
    # requirement (for purposes whose legal basis is not consent), refusal cool-offs (only for callees
    # who refused) and licences (when enforced). Otherwise no number is read, let alone decrypted.
    for_all, for_refusals = _region_needed(policy, purpose, campaign.channel) if purpose else (False, False)
    refusals: dict[str, datetime] = {}
    if for_refusals and rows:
        refusals = {row.contact_id: row.at for row in _REFUSALS[dialect].all(tx, scope)}
    sealed: dict[str, Any] = {}
    if for_all or refusals:
        located = ids if for_all else json.dumps(list(refusals))
        sealed = _by_id(_SEALED_NUMBERS[dialect].all(tx, {"ids": located, "tenant": tenant_id}))
    licences: tuple[LicenceFact, ...] = ()
    if for_all and licences_needed(policy, _everywhere(policy, purpose, campaign.channel)):
        licences = licence_facts(tx, tenant_id)
    nowhere: tuple[str | None, frozenset[str]] = (None, frozenset())

    # The decision is a pure function of these facts, and a batch's contacts mostly share them (consents
    # captured together, no refusal, callees of one region): each distinct combination is decided once.
    decided: dict[tuple[Any, ...], str | None] = {}
    read_time = _time_reader(tx.dialect)
    callable_ids: list[str] = []
    for contact_id in wanted:
        row = rows.get(contact_id)
        if row is None:
            result.excluded.append((contact_id, UNKNOWN_CONTACT))
            continue
        if purpose is None:
            result.excluded.append((contact_id, UNKNOWN_PURPOSE))
            continue
        number = sealed.get(contact_id)
        region, subdivisions = _callee_jurisdiction(policy, keyring, number) if number is not None else nowhere
        refused = refusals.get(contact_id)
        suppressed = row.suppression_id is not None
        key = (row.status, row.channels, row.given_at, row.expires_at, row.withdrawn_at, suppressed, region,
               subdivisions, refused)  # fmt: skip
        if key in decided:
            reason = decided[key]
        else:
            consent = consent_fact(
                row.status, json.loads(row.channels) if row.channels is not None else None,
                read_time(row.given_at), read_time(row.expires_at), read_time(row.withdrawn_at),
            )  # fmt: skip
            facts = DialFacts(
                purpose=campaign.purpose, channel=campaign.channel, handle_state="valid", campaign_open=True,
                contact_erased=False, suppressed=suppressed, consent=consent, callee_region=region,
                callee_subdivisions=subdivisions, callee_time_zones=(), attempt_times=(), last_refusal_at=refused,
                caller_line=None, licences=licences,
            )  # fmt: skip
            reason = decided[key] = _refusal_reason(policy, facts, now)
        if reason is None:
            callable_ids.append(contact_id)
        else:
            result.excluded.append((contact_id, reason))

    # Handle ids sort by time, so the rows and the id index grow at their end. Rows go in by contact (and
    # by id): the contact index and the foreign-key checks are walked in key order.
    by_contact = sorted(callable_ids)
    handle_ids = sorted(new_sorted_ids(HANDLE_ID_PREFIX, now, len(by_contact)))
    tokens = new_handle_tokens(handle_ids)
    digest = keyring.handle_digest
    inserts = [
        (digest(token), handle_id, tenant_id, campaign_id, contact_id, now, expires_at)
        for contact_id, handle_id, token in zip(by_contact, handle_ids, tokens, strict=True)
    ]
    bulk_insert(session, t.dial_handles, inserts, columns=_HANDLE_COLUMNS)
    token_of = dict(zip(by_contact, tokens, strict=True))
    result.handles = [(contact_id, token_of[contact_id]) for contact_id in callable_ids]
    record_event(
        tx, keyring, actor, "dial.handles_issued", now, target_type="campaign", target_id=campaign_id,
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
    handle_id, digest = handle_key(session, keyring, tenant_id, handle)
    row = None
    if handle_id is not None:
        row = session.execute(
            select(h.id, h.campaign_id, h.revoked_at).where(
                h.id == handle_id, h.digest == digest, h.tenant_id == tenant_id
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
