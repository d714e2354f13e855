"""Authorize (the gateway redeems a handle for the number), the dialer-side check, and call outcomes.

Hot path. Core queries only: one joined read (handle, campaign, contact, consent state, suppression,
caller line), one read of the contact's recent attempts, licences only when enforced; then the attempt
row and the audited reveal, all in the caller's write transaction. On SQLite that transaction began
with BEGIN IMMEDIATE (one writer at a time); on PostgreSQL the contact row is locked FOR UPDATE, so
concurrent gateways are serialized per contact and cannot exceed a frequency cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import and_, bindparam, literal, null, or_, select, update
from sqlalchemy.sql import Select
from sqlmodel import Session

from ...crypto import TenantKeyring
from ...errors import InvalidInput, NotFound
from ...policy import (
    CALLER_LINE_NOT_REGISTERED,
    CALLER_LINE_NOT_WHITELISTED,
    ERASED,
    POLICY_ERROR,
    UNKNOWN_HANDLE,
    DialFacts,
    PolicySet,
    UnknownPurpose,
    decide,
)
from ...storage import Prepared, Tx
from ...storage import tables as t
from .._context import Actor, Vault
from .._handle_tokens import handle_key
from .._ids import new_sorted_ids
from .._phone import parse_phone
from ..audit import record_event
from ..consent import file_complaint, suppress_blind_index, withdraw_consents
from ..contacts import decrypt_number
from ._facts import (
    REFUSAL_OUTCOMES,
    CalleeFactsCache,
    caller_line_fact,
    campaign_caps,
    campaign_window,
    consent_fact,
    history_horizon,
    licence_facts,
    licences_needed,
    policy_ref,
)

__all__ = ["CALLEE_FACTS", "OUTCOMES", "DialAnswer", "authorize", "check", "record_outcome"]

OUTCOMES = frozenset({"answered", "no_answer", "busy", "failed", "opted_out", "complaint"})
CALLEE_FACTS = CalleeFactsCache()
_LINE_REASONS = frozenset({CALLER_LINE_NOT_REGISTERED, CALLER_LINE_NOT_WHITELISTED})


@dataclass(frozen=True, slots=True)
class DialAnswer:
    decision: Literal["allow", "deny"]
    reason: str | None = None
    reasons: tuple[str, ...] = ()
    destination: str | None = None
    attempt_id: str | None = None


@lru_cache(maxsize=4096)
def _caller_number(raw: str) -> str:
    """Caller lines are the tenant's own numbers (not personal data): their parse is cached."""
    return parse_phone(raw, None, field="caller_line").e164


def _handle_query(with_line: bool, lock: bool) -> Select[Any]:
    """Handle + campaign + contact + consent state + live suppression (+ caller line), one row or none.

    Built once with bind parameters (tenant_id, handle_id, digest, now, caller_number): constructing the
    expression per request cost more than running it. The handle is matched on its primary key and
    digest together, before any join: a wrong token finds no row and locks nothing.
    """
    h, cm, ct = t.dial_handles.c, t.campaigns.c, t.contacts.c
    cs, sp = t.consent_states.c, t.suppressions.c
    tenant_id: Any = bindparam("tenant_id")
    columns: list[Any] = [
        h.campaign_id, h.contact_id, h.expires_at, h.revoked_at,
        cm.purpose, cm.channel, cm.status, cm.window, cm.caps,
        ct.blind_index, ct.wrapped_dek, ct.phone_ct,
        cs.status.label("consent_status"), cs.channels.label("consent_channels"), cs.given_at,
        cs.expires_at.label("consent_expires_at"), cs.withdrawn_at,
        sp.id.label("suppression_id"),
    ]  # fmt: skip
    joined: Any = (
        t.dial_handles.join(t.campaigns, and_(cm.id == h.campaign_id, cm.tenant_id == tenant_id))
        .join(t.contacts, and_(ct.id == h.contact_id, ct.tenant_id == tenant_id))
        .outerjoin(
            t.consent_states, and_(cs.tenant_id == tenant_id, cs.contact_id == h.contact_id, cs.purpose == cm.purpose)
        )
        .outerjoin(
            t.suppressions,
            and_(
                sp.tenant_id == tenant_id,
                sp.blind_index == ct.blind_index,
                or_(sp.expires_at.is_(None), sp.expires_at > bindparam("now", type_=sp.expires_at.type)),
            ),
        )
    )
    if with_line:
        cl, ccl = t.caller_lines.c, t.campaign_caller_lines.c
        joined = joined.outerjoin(
            t.caller_lines, and_(cl.tenant_id == tenant_id, cl.number == bindparam("caller_number"))
        )
        joined = joined.outerjoin(
            t.campaign_caller_lines, and_(ccl.campaign_id == h.campaign_id, ccl.caller_line_id == cl.id)
        )
        columns += [
            cl.id.label("line_id"), cl.whitelist_status, cl.whitelisted_until,
            ccl.caller_line_id.label("line_in_campaign"),
        ]  # fmt: skip
    else:
        columns += [
            null().label("line_id"), null().label("whitelist_status"), null().label("whitelisted_until"),
            null().label("line_in_campaign"),
        ]  # fmt: skip
    query = (
        select(*columns)
        .select_from(joined)
        .where(h.id == bindparam("handle_id"), h.digest == bindparam("digest"), h.tenant_id == tenant_id)
    )
    if lock:
        # PostgreSQL: serializes authorizations per contact (SQLite ignores it: BEGIN IMMEDIATE already did).
        query = query.with_for_update(of=t.contacts)
    return query


_HANDLE_QUERIES = {
    (line, lock): Prepared(_handle_query(line, lock)) for line in (True, False) for lock in (True, False)
}

_a = t.attempts.c
_HISTORY_QUERY = Prepared(
    select(_a.authorized_at, _a.outcome, _a.outcome_at).where(
        _a.tenant_id == bindparam("tenant_id"),
        _a.contact_id == bindparam("contact_id"),
        _a.purpose == bindparam("purpose"),
        or_(
            _a.authorized_at > bindparam("since", type_=_a.authorized_at.type),
            *(_a.outcome == outcome for outcome in REFUSAL_OUTCOMES),
        ),
    )
)
_ERASED_QUERY = Prepared(
    select(literal(1)).where(
        t.erased_handles.c.tenant_id == bindparam("tenant_id"), t.erased_handles.c.digest == bindparam("digest")
    )
)
_INSERT_ATTEMPT = Prepared(t.attempts.insert())


def _history(
    unit: Session | Tx, tenant_id: str, contact_id: str, purpose: str, since: datetime
) -> tuple[tuple[datetime, ...], datetime | None]:
    rows = _HISTORY_QUERY.all(
        unit, {"tenant_id": tenant_id, "contact_id": contact_id, "purpose": purpose, "since": since}
    )
    times = tuple(r.authorized_at for r in rows if r.authorized_at > since)
    refusals = [r.outcome_at for r in rows if r.outcome in REFUSAL_OUTCOMES and r.outcome_at is not None]
    return times, max(refusals, default=None)


def _is_erased(unit: Session | Tx, tenant_id: str, digest: bytes) -> bool:
    return _ERASED_QUERY.first(unit, {"tenant_id": tenant_id, "digest": digest}) is not None


@dataclass(slots=True)
class _Evaluation:
    reasons: tuple[str, ...]
    row: Any = None
    keyring: TenantKeyring | None = None
    policy: PolicySet | None = None
    e164: str | None = None


def _evaluate(
    unit: Session | Tx, vault: Vault, tenant_id: str, handle: str, caller_line: str | None, now: datetime, *, lock: bool
) -> _Evaluation:
    caller_number = _caller_number(caller_line) if caller_line is not None else None
    keyring = vault.keyrings.get(unit, tenant_id)
    policy = vault.policies.for_tenant(unit, tenant_id)
    handle_id, digest = handle_key(unit, keyring, tenant_id, handle)
    row = None
    if handle_id is not None:
        params = {
            "tenant_id": tenant_id, "handle_id": handle_id, "digest": digest, "now": now,
            "caller_number": caller_number,
        }  # fmt: skip
        row = _HANDLE_QUERIES[(caller_number is not None, lock)].first(unit, params)
    if row is None:
        # No facts to weigh: the handle names no call of this tenant (or its contact was erased).
        reason = ERASED if _is_erased(unit, tenant_id, digest) else UNKNOWN_HANDLE
        return _Evaluation((reason,), keyring=keyring, policy=policy)
    evaluation = _Evaluation((), row, keyring, policy)

    def number() -> str:
        if evaluation.e164 is None:
            evaluation.e164 = decrypt_number(keyring, row.contact_id, row.wrapped_dek, row.phone_ct)
        return evaluation.e164

    callee = CALLEE_FACTS.get_or_compute(bytes(row.blind_index), number)
    window, caps = campaign_window(row.window), campaign_caps(row.caps)
    attempt_times: tuple[datetime, ...] = ()
    last_refusal: datetime | None = None
    licences: tuple[Any, ...] = ()
    try:
        purpose = policy.purpose(row.purpose)
    except UnknownPurpose:
        purpose = None
    if purpose is not None:
        plan = policy.plan(policy.jurisdictions_for(callee.region, callee.subdivisions), purpose, row.channel)
        if caps or plan.caps or plan.cooloffs:  # otherwise earlier attempts change nothing: skip the query
            since = history_horizon(plan, caps, now)
            attempt_times, last_refusal = _history(unit, tenant_id, row.contact_id, row.purpose, since)
        if licences_needed(policy, plan):
            licences = licence_facts(unit, tenant_id)
    if row.revoked_at is not None:
        handle_state: Literal["valid", "expired", "revoked"] = "revoked"
    elif row.expires_at <= now:
        handle_state = "expired"
    else:
        handle_state = "valid"
    facts = DialFacts(
        purpose=row.purpose,
        channel=row.channel,
        handle_state=handle_state,
        campaign_open=row.status == "open",
        contact_erased=False,
        suppressed=row.suppression_id is not None,
        consent=consent_fact(
            row.consent_status, row.consent_channels, row.given_at, row.consent_expires_at, row.withdrawn_at
        ),
        callee_region=callee.region,
        callee_subdivisions=callee.subdivisions,
        callee_time_zones=callee.time_zones,
        attempt_times=attempt_times,
        last_refusal_at=last_refusal,
        caller_line=caller_line_fact(
            row.line_id, row.line_in_campaign is not None, row.whitelist_status, row.whitelisted_until
        ),
        licences=licences,
        campaign_window=window,
        campaign_caps=caps,
    )
    decision = decide(policy, facts, now)
    reasons = () if decision.allow else decision.reasons or (POLICY_ERROR,)  # a deny always names a reason
    if caller_line is None:
        reasons = tuple(r for r in reasons if r not in _LINE_REASONS)
    evaluation.reasons = reasons
    return evaluation


def _deny_details(row: Any, reasons: tuple[str, ...]) -> dict[str, Any]:
    details: dict[str, Any] = {"reasons": list(reasons)}
    if row is not None:
        details.update(campaign_id=row.campaign_id, contact_id=row.contact_id, purpose=row.purpose)
    return details


def authorize(
    unit: Session | Tx, vault: Vault, actor: Actor, handle: str, caller_line: str, now: datetime
) -> DialAnswer:
    """Allow (with the destination, an attempt recorded and the reveal audited) or deny with one reason."""
    tenant_id = actor.tenant_id
    evaluation = _evaluate(unit, vault, tenant_id, handle, caller_line, now, lock=True)
    keyring, row, policy = evaluation.keyring, evaluation.row, evaluation.policy
    assert keyring is not None and policy is not None
    if evaluation.reasons or row is None:
        reasons = evaluation.reasons or (UNKNOWN_HANDLE,)
        record_event(
            unit, keyring, actor, "dial.denied", now, target_type="dial_handle", reason=reasons[0],
            details=_deny_details(row, reasons),
        )  # fmt: skip
        return DialAnswer("deny", reasons[0], reasons)
    destination = evaluation.e164 or decrypt_number(keyring, row.contact_id, row.wrapped_dek, row.phone_ct)
    # Time-sorted: an attempt's time is no secret from the gateway it is returned to, and sorted ids
    # append to the attempts' and audit entries' id indexes instead of dirtying a random page of each.
    attempt_id = new_sorted_ids("at", now, 1)[0]
    _INSERT_ATTEMPT.run(
        unit,
        {
            "id": attempt_id, "tenant_id": tenant_id, "campaign_id": row.campaign_id, "contact_id": row.contact_id,
            "purpose": row.purpose, "channel": row.channel, "caller_line_id": row.line_id, "authorized_at": now,
            "outcome": None, "outcome_at": None,
        },
    )  # fmt: skip
    record_event(
        unit, keyring, actor, "dial.reveal", now, target_type="attempt", target_id=attempt_id,
        details={
            "campaign_id": row.campaign_id, "contact_id": row.contact_id, "purpose": row.purpose,
            "caller_line_id": row.line_id, "policy": policy_ref(policy),
        },
    )  # fmt: skip
    return DialAnswer("allow", destination=destination, attempt_id=attempt_id)


def check(
    unit: Session | Tx, vault: Vault, actor: Actor, handle: str, caller_line: str | None, now: datetime
) -> DialAnswer:
    """The same decision as authorize, for the dialer: no number, no attempt recorded."""
    evaluation = _evaluate(unit, vault, actor.tenant_id, handle, caller_line, now, lock=False)
    if evaluation.reasons:
        return DialAnswer("deny", evaluation.reasons[0], evaluation.reasons)
    return DialAnswer("allow")


# -- outcomes ------------------------------------------------------------------------------------


def record_outcome(
    session: Session, vault: Vault, actor: Actor, attempt_id: str, outcome: str, now: datetime
) -> dict[str, Any]:
    """Record how an authorized call ended. A refusal (`opted_out`) withdraws every consent and suppresses
    the number before this returns; a `complaint` also opens a complaint with its due date."""
    if outcome not in OUTCOMES:
        raise InvalidInput("unknown outcome", code="invalid_outcome", field="outcome")
    tenant_id = actor.tenant_id
    a = t.attempts.c
    row = session.execute(
        select(a.id, a.contact_id, a.channel, a.outcome).where(a.id == attempt_id, a.tenant_id == tenant_id)
    ).one_or_none()
    if row is None:
        raise NotFound("unknown attempt", code="unknown_attempt")
    session.execute(update(t.attempts).where(a.id == attempt_id).values(outcome=outcome, outcome_at=now))
    keyring = vault.keyrings.get(session, tenant_id)
    record_event(
        session, keyring, actor, "dial.outcome", now, target_type="attempt", target_id=attempt_id, reason=outcome,
        details={"contact_id": row.contact_id, "previous": row.outcome},
    )  # fmt: skip
    result: dict[str, Any] = {"attempt_id": attempt_id, "outcome": outcome}
    if outcome in REFUSAL_OUTCOMES:
        result.update(_refusal(session, vault, actor, row.contact_id, row.channel, attempt_id, outcome, now))
    return result


def _refusal(
    session: Session,
    vault: Vault,
    actor: Actor,
    contact_id: str,
    channel: str,
    attempt_id: str,
    outcome: str,
    now: datetime,
) -> dict[str, Any]:
    tenant_id = actor.tenant_id
    blind = session.execute(
        select(t.contacts.c.blind_index).where(t.contacts.c.id == contact_id, t.contacts.c.tenant_id == tenant_id)
    ).scalar_one_or_none()
    if blind is None:  # erased since the call: its suppression (if the rules keep one) was written then
        return {"withdrawn": 0, "suppressed": False}
    if outcome == "complaint":
        filed = file_complaint(
            session, vault, actor, channel=channel, attempt_id=attempt_id, now=now,
            summary="Complaint made during the call, reported by the dialing system.",
        )  # fmt: skip
        return {
            "withdrawn": filed.withdrawn, "suppressed": True, "complaint_id": filed.complaint_id,
            "complaint_due_at": filed.due_at.isoformat(),
        }  # fmt: skip
    suppress_blind_index(session, vault, actor, bytes(blind), "opted_out", "call", now)
    withdrawal = withdraw_consents(
        session, vault, actor, contact_id, None, now, method="agent_call", reason="opted_out"
    )
    return {"withdrawn": withdrawal.withdrawn, "suppressed": True}
