"""Retention purge: remove what is past its retention period under the tenant's policy.

Kinds: `call_attempt` (attempts, by authorization time), `consent_evidence` (events and receipts
of consents that ended — withdrawn, expired, or orphaned by erasure — by end time), `complaint`
(resolved complaints, by resolution time), `dsr_record` (closed requests, by closing time),
`dial_handle` (handles, by the time they expired or were revoked) and `erased_handle` (digests of
erased contacts' handles, once the handle would have expired).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlmodel import Session

from ..storage import tables as t
from ._context import Actor, Vault
from .audit import record_event
from .requests import CLOSED, RequestRules, rules_for

__all__ = ["KINDS", "purge_expired"]

KINDS = ("call_attempt", "consent_evidence", "complaint", "dsr_record", "dial_handle", "erased_handle")
_ENDING_EVENTS = frozenset({"withdrawn", "expired"})
_CHUNK = 500


def _cutoff(rules: RequestRules, kind: str, jurisdictions: tuple[str, ...], now: datetime) -> datetime | None:
    period = rules.retention(kind, jurisdictions).period
    return None if period is None else now - period


def _delete_ids(session: Session, table: Any, column: Any, ids: list[str]) -> None:
    for start in range(0, len(ids), _CHUNK):
        session.execute(delete(table).where(column.in_(ids[start : start + _CHUNK])))


def _count_and_delete(session: Session, table: Any, where: tuple[Any, ...], dry_run: bool) -> int:
    """How many rows of `table` match `where`; they are deleted unless this is a dry run."""
    count = int(session.execute(select(func.count()).select_from(table).where(*where)).scalar_one())
    if count and not dry_run:
        session.execute(delete(table).where(*where))
    return count


def _attempts(session: Session, rules: RequestRules, tenant_id: str, now: datetime, dry_run: bool) -> int:
    cutoff = _cutoff(rules, "call_attempt", (), now)
    if cutoff is None:
        return 0
    at = t.attempts.c
    where = (at.tenant_id == tenant_id, at.authorized_at < cutoff)
    return _count_and_delete(session, t.attempts, where, dry_run)


def _consent_evidence(session: Session, rules: RequestRules, tenant_id: str, now: datetime, dry_run: bool) -> int:
    """Events (and their receipts) of consents that ended longer ago than the retention period."""
    ce = t.consent_events.c
    by_consent: dict[str, list[Any]] = defaultdict(list)
    for row in session.execute(
        select(ce.id, ce.consent_id, ce.contact_id, ce.event_type, ce.jurisdiction, ce.occurred_at, ce.expires_at)
        .where(ce.tenant_id == tenant_id)
        .order_by(ce.consent_id, ce.occurred_at, ce.recorded_at)
    ):
        by_consent[row.consent_id].append(row)
    cs = t.consent_states.c
    cutoffs: dict[tuple[str, ...], datetime | None] = {}
    doomed_events: list[str] = []
    doomed_consents: list[str] = []
    for consent_id, events in by_consent.items():
        last = events[-1]
        if last.event_type in _ENDING_EVENTS:
            ended_at = last.occurred_at
        elif last.expires_at is not None and last.expires_at <= now:
            ended_at = last.expires_at
        else:
            continue
        jurisdictions = tuple(sorted({e.jurisdiction for e in events if e.jurisdiction}))
        if jurisdictions not in cutoffs:
            cutoffs[jurisdictions] = _cutoff(rules, "consent_evidence", jurisdictions, now)
        cutoff = cutoffs[jurisdictions]
        if cutoff is not None and ended_at < cutoff:
            doomed_events.extend(e.id for e in events)
            doomed_consents.append(consent_id)
    if doomed_events and not dry_run:
        _delete_ids(session, t.receipts, t.receipts.c.consent_event_id, doomed_events)
        _delete_ids(session, t.consent_events, ce.id, doomed_events)
        for start in range(0, len(doomed_consents), _CHUNK):
            session.execute(
                delete(t.consent_states).where(
                    cs.tenant_id == tenant_id,
                    cs.consent_id.in_(doomed_consents[start : start + _CHUNK]),
                    cs.status != "granted",
                )
            )
    return len(doomed_events)


def _complaints(session: Session, rules: RequestRules, tenant_id: str, now: datetime, dry_run: bool) -> int:
    cutoff = _cutoff(rules, "complaint", (), now)
    if cutoff is None:
        return 0
    cp = t.complaints.c
    where = (cp.tenant_id == tenant_id, cp.status != "open", cp.resolved_at.is_not(None), cp.resolved_at < cutoff)
    return _count_and_delete(session, t.complaints, where, dry_run)


def _requests(session: Session, rules: RequestRules, tenant_id: str, now: datetime, dry_run: bool) -> int:
    rq = t.subject_requests.c
    doomed: list[str] = []
    cutoffs: dict[tuple[str, ...], datetime | None] = {}
    for request_id, jurisdictions, closed_at in session.execute(
        select(rq.id, rq.jurisdictions, rq.completed_at).where(
            rq.tenant_id == tenant_id, rq.status.in_(CLOSED), rq.completed_at.is_not(None)
        )
    ):
        key = tuple(sorted(jurisdictions or ()))
        if key not in cutoffs:
            cutoffs[key] = _cutoff(rules, "dsr_record", key, now)
        cutoff = cutoffs[key]
        if cutoff is not None and closed_at < cutoff:
            doomed.append(str(request_id))
    if doomed and not dry_run:
        _delete_ids(session, t.subject_request_events, t.subject_request_events.c.request_id, doomed)
        _delete_ids(session, t.subject_requests, rq.id, doomed)
    return len(doomed)


def _dial_handles(session: Session, rules: RequestRules, tenant_id: str, now: datetime, dry_run: bool) -> int:
    cutoff = _cutoff(rules, "dial_handle", (), now)
    if cutoff is None:
        return 0
    h = t.dial_handles.c
    where = (h.tenant_id == tenant_id, or_(h.expires_at < cutoff, h.revoked_at < cutoff))
    return _count_and_delete(session, t.dial_handles, where, dry_run)


def _erased_handles(session: Session, tenant_id: str, now: datetime, dry_run: bool) -> int:
    eh = t.erased_handles.c
    where = (eh.tenant_id == tenant_id, eh.expires_at < now)
    return _count_and_delete(session, t.erased_handles, where, dry_run)


def purge_expired(
    session: Session, vault: Vault, actor: Actor | str, tenant_id: str, now: datetime, *, dry_run: bool = False
) -> dict[str, int]:
    """Counts per kind of what is (or, with `dry_run`, would be) removed; audited with counts only."""
    rules = rules_for(session, vault, tenant_id)
    counts = {
        "call_attempt": _attempts(session, rules, tenant_id, now, dry_run),
        "consent_evidence": _consent_evidence(session, rules, tenant_id, now, dry_run),
        "complaint": _complaints(session, rules, tenant_id, now, dry_run),
        "dsr_record": _requests(session, rules, tenant_id, now, dry_run),
        "dial_handle": _dial_handles(session, rules, tenant_id, now, dry_run),
        "erased_handle": _erased_handles(session, tenant_id, now, dry_run),
    }
    record_event(
        session, vault.keyrings.get(session, tenant_id), actor,
        "retention.purge_planned" if dry_run else "retention.purged", now,
        target_type="tenant", target_id=tenant_id, details=counts,
    )  # fmt: skip
    session.flush()
    return counts
