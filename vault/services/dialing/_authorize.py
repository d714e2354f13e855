"""Authorize (the gateway redeems a handle for the number), the dialer-side check, and call outcomes.

Hot path, for one request or for several at once (`authorize_all`, which the server's group commit
uses): one joined read (handle, campaign, contact, consent state, suppression, caller line) for all
the handles that name one caller line, one read of their contacts' recent attempts, licences only when
enforced; then each decision in turn, an allow counting toward the caps of the requests after it;
then the attempt rows in one statement and an audited reveal per allow, all in the caller's write
transaction. On SQLite that transaction began with BEGIN IMMEDIATE (one writer at a time); on
PostgreSQL the contact rows are locked FOR UPDATE, in id order, so concurrent gateways are serialized
per contact and cannot exceed a frequency cap.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import Any, Literal

from sqlalchemy import and_, bindparam, literal, null, or_, select, update
from sqlalchemy.sql import Select
from sqlmodel import Session

from ...crypto import TenantKeyring, constant_time_equal
from ...errors import InvalidInput, NotFound
from ...policy import (
    CALLER_LINE_NOT_REGISTERED,
    CALLER_LINE_NOT_WHITELISTED,
    ERASED,
    POLICY_ERROR,
    UNKNOWN_HANDLE,
    CapOverride,
    DialFacts,
    PolicySet,
    UnknownPurpose,
    decide,
)
from ...storage import Prepared, Tx, in_list_chunks
from ...storage import tables as t
from .._context import Actor, Vault, indexes_by_tenant
from .._handle_tokens import handle_key
from .._ids import new_sorted_ids
from .._phone import NumberFacts, parse_phone
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

__all__ = [
    "CALLEE_FACTS", "OUTCOMES", "DialAnswer", "authorize", "authorize_all", "caller_line_number", "check",
    "record_outcome",
]  # fmt: skip

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
def caller_line_number(raw: str) -> str:
    """A caller line as authorize reads it (E.164; invalid → InvalidInput naming `caller_line`). Caller lines
    are the tenant's own numbers (not personal data): their parse is cached."""
    return parse_phone(raw, None, field="caller_line").e164


# IN-list lengths (`in_list_chunks`). At most 16: with a longer list SQLite's planner (without
# statistics) judged walking the tenant's campaigns or contacts cheaper than the list's primary-key
# probes, and read every handle of the campaign per batch (tests/dialing/test_query_plans.py pins it).
_LIST_SIZES = (1, 4, 16)


def _handle_query(with_line: bool, lock: bool, size: int) -> Select[Any]:
    """Handle + campaign + contact + consent state + live suppression (+ caller line), a row per handle id.

    Built once per shape with bind parameters (tenant_id, h0…, now, caller_number): constructing the
    expression per request cost more than running it. The handles are found by primary key before any
    join; the caller compares each row's digest with its token's, so a wrong token matches no row.
    """
    h, cm, ct = t.dial_handles.c, t.campaigns.c, t.contacts.c
    cs, sp = t.consent_states.c, t.suppressions.c
    tenant_id: Any = bindparam("tenant_id")
    columns: list[Any] = [
        h.id.label("handle_id"), h.digest.label("handle_digest"), h.campaign_id, h.contact_id, h.expires_at,
        h.revoked_at,
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
        .where(h.id.in_([bindparam(f"h{i}") for i in range(size)]), h.tenant_id == tenant_id)
    )
    if lock:
        # PostgreSQL: serializes authorizations per contact, rows locked in one order so two batches cannot
        # deadlock (SQLite ignores it: BEGIN IMMEDIATE already did).
        query = query.order_by(ct.id).with_for_update(of=t.contacts)
    return query


@cache
def _handle_statement(with_line: bool, lock: bool, size: int) -> Prepared:
    return Prepared(_handle_query(with_line, lock, size))


_a = t.attempts.c


@cache
def _history_statement(size: int) -> Prepared:
    return Prepared(
        select(_a.contact_id, _a.purpose, _a.authorized_at, _a.outcome, _a.outcome_at).where(
            _a.tenant_id == bindparam("tenant_id"),
            _a.contact_id.in_([bindparam(f"c{i}") for i in range(size)]),
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


def _handle_rows(
    unit: Session | Tx, tenant_id: str, handle_ids: list[str], caller_number: str | None, now: datetime, lock: bool
) -> dict[str, Any]:
    """Handle id → its joined row, for the handles of one tenant named with one caller line (or none)."""
    found: dict[str, Any] = {}
    for size, params in in_list_chunks("h", handle_ids, _LIST_SIZES):
        params.update(tenant_id=tenant_id, now=now, caller_number=caller_number)
        statement = _handle_statement(caller_number is not None, lock, size)
        found.update((row.handle_id, row) for row in statement.all(unit, params))
    return found


_Attempt = tuple[datetime, str | None, datetime | None]  # authorized at, outcome, outcome at


def _histories(
    unit: Session | Tx, tenant_id: str, contact_ids: list[str], since: datetime
) -> dict[tuple[str, str], list[_Attempt]]:
    """(contact, purpose) → its attempts authorized after `since` and its refusals, of any age."""
    found: dict[tuple[str, str], list[_Attempt]] = {}
    for size, params in in_list_chunks("c", contact_ids, _LIST_SIZES):
        params.update(tenant_id=tenant_id, since=since)
        for r in _history_statement(size).all(unit, params):
            found.setdefault((r.contact_id, r.purpose), []).append((r.authorized_at, r.outcome, r.outcome_at))
    return found


def _is_erased(unit: Session | Tx, tenant_id: str, digest: bytes) -> bool:
    return _ERASED_QUERY.first(unit, {"tenant_id": tenant_id, "digest": digest}) is not None


@dataclass(slots=True)
class _Evaluation:
    reasons: tuple[str, ...]
    row: Any = None
    keyring: TenantKeyring | None = None
    policy: PolicySet | None = None
    e164: str | None = None

    def number(self) -> str:
        if self.e164 is None:
            assert self.keyring is not None
            row = self.row
            self.e164 = decrypt_number(self.keyring, row.contact_id, row.wrapped_dek, row.phone_ct)
        return self.e164


@dataclass(slots=True)
class _Pending:
    """A found handle, between the reads and its decision."""

    evaluation: _Evaluation
    callee: NumberFacts
    since: datetime | None  # None: no cap or cool-off applies, earlier attempts change nothing
    caps: tuple[CapOverride, ...]  # the campaign's own
    needs_licences: bool
    line_named: bool  # a check may leave the caller line out: its reasons are then not given


def _evaluate_all(
    unit: Session | Tx,
    vault: Vault,
    tenant_id: str,
    requests: Sequence[tuple[str, str | None]],
    now: datetime,
    *,
    lock: bool,
    count_allows: bool,
) -> list[_Evaluation]:
    """The decision on each (handle, caller line) of one tenant, in order; with `count_allows`, each allow
    counts as an attempt in the caps of the requests after it (authorize records one per allow)."""
    keyring = vault.keyrings.get(unit, tenant_id)
    policy = vault.policies.for_tenant(unit, tenant_id)
    keys = [handle_key(unit, keyring, tenant_id, handle) for handle, _ in requests]
    numbers = [caller_line_number(line) if line is not None else None for _, line in requests]
    by_line: dict[str | None, list[tuple[int, str]]] = {}  # caller line → (request, handle id)
    for index, (handle_id, _) in enumerate(keys):
        if handle_id is not None:
            by_line.setdefault(numbers[index], []).append((index, handle_id))
    rows: list[Any] = [None] * len(requests)
    for number, named in by_line.items():
        found = _handle_rows(unit, tenant_id, [handle_id for _, handle_id in named], number, now, lock)
        for index, handle_id in named:
            row = found.get(handle_id)
            if row is not None and constant_time_equal(bytes(row.handle_digest), keys[index][1]):
                rows[index] = row
    evaluations: list[_Evaluation] = []
    pending: list[_Pending] = []
    for (_, digest), row, number in zip(keys, rows, numbers, strict=True):
        if row is None:
            # No facts to weigh: the handle names no call of this tenant (or its contact was erased).
            reason = ERASED if _is_erased(unit, tenant_id, digest) else UNKNOWN_HANDLE
            evaluations.append(_Evaluation((reason,), keyring=keyring, policy=policy))
            continue
        evaluation = _Evaluation((), row, keyring, policy)
        evaluations.append(evaluation)
        pending.append(_plan(policy, evaluation, number is not None, now))
    since = [p.since for p in pending if p.since is not None]
    histories: dict[tuple[str, str], list[_Attempt]] = {}
    if since:
        contacts = list(dict.fromkeys(p.evaluation.row.contact_id for p in pending if p.since is not None))
        histories = _histories(unit, tenant_id, contacts, min(since))
    licences: tuple[Any, ...] | None = None
    for item in pending:
        evaluation, row = item.evaluation, item.evaluation.row
        if item.needs_licences and licences is None:
            licences = licence_facts(unit, tenant_id)
        attempts = histories.setdefault((row.contact_id, row.purpose), [])
        evaluation.reasons = _decide(policy, item, attempts, (licences or ()) if item.needs_licences else (), now)
        if count_allows and not evaluation.reasons:
            attempts.append((now, None, None))
    return evaluations


def _plan(policy: PolicySet, evaluation: _Evaluation, line_named: bool, now: datetime) -> _Pending:
    """The callee's facts and what the rules in force for this call need read: attempts since when, licences."""
    row = evaluation.row
    callee = CALLEE_FACTS.get_or_compute(bytes(row.blind_index), evaluation.number)
    since, needs_licences = None, False
    caps = campaign_caps(row.caps)
    try:
        purpose = policy.purpose(row.purpose)
    except UnknownPurpose:
        purpose = None  # the engine denies it, naming the purpose
    if purpose is not None:
        plan = policy.plan(policy.jurisdictions_for(callee.region, callee.subdivisions), purpose, row.channel)
        if caps or plan.caps or plan.cooloffs:  # otherwise earlier attempts change nothing: not read
            since = history_horizon(plan, caps, now)
        needs_licences = licences_needed(policy, plan)
    return _Pending(evaluation, callee, since, caps, needs_licences, line_named)


def _decide(
    policy: PolicySet, item: _Pending, attempts: list[_Attempt], licences: tuple[Any, ...], now: datetime
) -> tuple[str, ...]:
    row, since = item.evaluation.row, item.since
    times: tuple[datetime, ...] = ()
    last_refusal: datetime | None = None
    if since is not None:
        times = tuple(at for at, _, _ in attempts if at > since)
        refusals = [done for _, outcome, done in attempts if outcome in REFUSAL_OUTCOMES and done is not None]
        last_refusal = max(refusals, default=None)
    if row.revoked_at is not None:
        handle_state: Literal["valid", "expired", "revoked"] = "revoked"
    elif row.expires_at <= now:
        handle_state = "expired"
    else:
        handle_state = "valid"
    callee = item.callee
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
        attempt_times=times,
        last_refusal_at=last_refusal,
        caller_line=caller_line_fact(
            row.line_id, row.line_in_campaign is not None, row.whitelist_status, row.whitelisted_until
        ),
        licences=licences,
        campaign_window=campaign_window(row.window),
        campaign_caps=item.caps,
    )
    decision = decide(policy, facts, now)
    reasons = () if decision.allow else decision.reasons or (POLICY_ERROR,)  # a deny always names a reason
    return reasons if item.line_named else tuple(r for r in reasons if r not in _LINE_REASONS)


def _deny_details(row: Any, reasons: tuple[str, ...]) -> dict[str, Any]:
    details: dict[str, Any] = {"reasons": list(reasons)}
    if row is not None:
        details.update(campaign_id=row.campaign_id, contact_id=row.contact_id, purpose=row.purpose)
    return details


def authorize(
    unit: Session | Tx, vault: Vault, actor: Actor, handle: str, caller_line: str, now: datetime
) -> DialAnswer:
    """Allow (with the destination, an attempt recorded and the reveal audited) or deny with one reason."""
    return authorize_all(unit, vault, [(actor, (handle, caller_line))], now)[0]


def authorize_all(
    unit: Session | Tx, vault: Vault, requests: Sequence[tuple[Actor, tuple[str, str]]], now: datetime
) -> list[DialAnswer]:
    """`authorize` of each (actor, (handle, caller line)), in order, as if one after the other."""
    answers: list[DialAnswer] = [DialAnswer("deny", UNKNOWN_HANDLE)] * len(requests)
    for tenant_id, indexes in indexes_by_tenant(requests).items():
        asked = [requests[i][1] for i in indexes]
        evaluations = _evaluate_all(unit, vault, tenant_id, asked, now, lock=True, count_allows=True)
        # Time-sorted: an attempt's time is no secret from the gateway it is returned to, and sorted ids
        # append to the attempts' id index instead of dirtying a random page of it per attempt.
        attempt_ids = iter(new_sorted_ids("at", now, sum(1 for e in evaluations if not e.reasons)))
        attempts: list[dict[str, Any]] = []
        for index, evaluation in zip(indexes, evaluations, strict=True):
            answers[index] = _answer(unit, requests[index][0], evaluation, attempt_ids, attempts, now)
        if attempts:
            _INSERT_ATTEMPT.run_many(unit, attempts)
    return answers


def _answer(
    unit: Session | Tx,
    actor: Actor,
    evaluation: _Evaluation,
    attempt_ids: Iterator[str],
    attempts: list[dict[str, Any]],
    now: datetime,
) -> DialAnswer:
    """Audit the decision; an allow also gets its attempt (added to `attempts`) and the number."""
    keyring, row, policy = evaluation.keyring, evaluation.row, evaluation.policy
    assert keyring is not None and policy is not None
    if evaluation.reasons:
        reasons = evaluation.reasons
        record_event(
            unit, keyring, actor, "dial.denied", now, target_type="dial_handle", reason=reasons[0],
            details=_deny_details(row, reasons),
        )  # fmt: skip
        return DialAnswer("deny", reasons[0], reasons)
    attempt_id = next(attempt_ids)
    attempts.append(
        {
            "id": attempt_id, "tenant_id": keyring.tenant_id, "campaign_id": row.campaign_id,
            "contact_id": row.contact_id, "purpose": row.purpose, "channel": row.channel,
            "caller_line_id": row.line_id, "authorized_at": now, "outcome": None, "outcome_at": None,
        }
    )  # fmt: skip
    record_event(
        unit, keyring, actor, "dial.reveal", now, target_type="attempt", target_id=attempt_id,
        details={
            "campaign_id": row.campaign_id, "contact_id": row.contact_id, "purpose": row.purpose,
            "caller_line_id": row.line_id, "policy": policy_ref(policy),
        },
    )  # fmt: skip
    return DialAnswer("allow", destination=evaluation.number(), attempt_id=attempt_id)


def check(
    unit: Session | Tx, vault: Vault, actor: Actor, handle: str, caller_line: str | None, now: datetime
) -> DialAnswer:
    """The same decision as authorize, for the dialer: no number, no attempt recorded."""
    evaluation = _evaluate_all(
        unit, vault, actor.tenant_id, [(handle, caller_line)], now, lock=False, count_allows=False
    )[0]
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
