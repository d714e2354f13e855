"""Erasure by crypto-shredding: the contact's wrapped DEK is deleted, so every ciphertext under it is dead.

What a rule requires is kept, pseudonymous, and the result says which rule: the suppression
(by blind index), consent events without their evidence, complaint records without their
summary, call attempts. Each erasure is journaled by blind index for restores from backups.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from ...storage import Database, bulk_insert
from ...storage import tables as t
from .._context import Actor, Vault
from ..audit import record_event
from ..consent import suppress_blind_index
from ._rules import rules_for

__all__ = ["ErasureResult", "checkpoint_store", "erase_contact", "is_erased_handle"]

ERASURE_SUPPRESSION_REASON = "erasure"


@dataclass(slots=True)
class ErasureResult:
    erased: bool
    contact_id: str | None
    kept: list[dict[str, Any]] = field(default_factory=list)
    removed: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"erased": self.erased, "contact_id": self.contact_id, "kept": self.kept, "removed": self.removed}


def _count(session: Session, table: Any, *where: Any) -> int:
    return int(session.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def erase_contact(
    session: Session,
    vault: Vault,
    actor: Actor,
    contact_id: str,
    now: datetime,
    *,
    request_id: str | None = None,
    jurisdictions: Sequence[str] = (),
    journal: bool = True,
) -> ErasureResult:
    """Crypto-shred one contact of the actor's tenant; an unknown contact erases nothing."""
    tenant_id = actor.tenant_id
    row = session.execute(
        select(t.contacts.c.id, t.contacts.c.blind_index).where(
            t.contacts.c.id == contact_id, t.contacts.c.tenant_id == tenant_id
        )
    ).one_or_none()
    if row is None:
        return ErasureResult(False, None)
    blind = bytes(row.blind_index)
    rules = rules_for(session, vault, tenant_id)
    keyring = vault.keyrings.get(session, tenant_id)
    result = ErasureResult(True, contact_id)

    # Dial handles: remember their digests (they link to nothing once the contact is gone) so that
    # authorize answers `erased` until they would have expired; the rows go with the contact.
    h = t.dial_handles.c
    handles = session.execute(
        select(h.digest, h.expires_at).where(h.tenant_id == tenant_id, h.contact_id == contact_id)
    ).all()
    bulk_insert(
        session,
        t.erased_handles,
        [{"digest": d, "tenant_id": tenant_id, "erased_at": now, "expires_at": e} for d, e in handles],
        ignore_conflicts_on=["digest"],
    )
    result.removed["dial_handles"] = len(handles)

    # The do-not-call entry is keyed by blind index and outlives the contact.
    s = t.suppressions.c
    existing = session.execute(
        select(s.id, s.reason).where(s.tenant_id == tenant_id, s.blind_index == blind)
    ).one_or_none()
    survives_source = rules.suppression_basis(jurisdictions)
    if existing is not None:
        result.kept.append(
            {"kind": "suppression", "count": 1, "reason": existing.reason, "source": survives_source,
             "why": "the person asked not to be called; the entry holds only a blind index"}
        )  # fmt: skip
    else:
        suppress_blind_index(session, vault, actor, blind, ERASURE_SUPPRESSION_REASON, "erasure", now)
        result.kept.append(
            {"kind": "suppression", "count": 1, "reason": ERASURE_SUPPRESSION_REASON, "source": survives_source,
             "why": "do-not-call survives erasure; the entry holds only a blind index"}
        )  # fmt: skip

    # Consent events: proof of consent may have to outlive the contact, pseudonymous and without evidence.
    ce = t.consent_events.c
    of_contact = (ce.tenant_id == tenant_id, ce.contact_id == contact_id)
    events = _count(session, t.consent_events, *of_contact)
    consent_rule = rules.retention("consent_evidence", jurisdictions)
    receipts_where = (t.receipts.c.tenant_id == tenant_id, t.receipts.c.contact_id == contact_id)
    # Receipts are kept in their event rows since revision 0005, and as rows of `receipts` before it.
    receipts = _count(session, t.receipts, *receipts_where) + _count(
        session, t.consent_events, *of_contact, ce.receipt_mac.is_not(None)
    )
    if events and (consent_rule.period is None or consent_rule.period.total_seconds() > 0):
        session.execute(update(t.consent_events).where(*of_contact).values(evidence_ct=None))
        result.kept.append(
            {"kind": "consent_events", "count": events, "source": consent_rule.source,
             "why": "proof of consent, kept pseudonymous (contact id only); encrypted evidence deleted"}
        )  # fmt: skip
        if receipts:
            result.kept.append(
                {"kind": "receipts", "count": receipts, "source": consent_rule.source,
                 "why": "signed consent receipts name only the pseudonymous contact id"}
            )  # fmt: skip
        result.removed["consent_evidence"] = events
    else:
        session.execute(delete(t.consent_events).where(*of_contact))
        session.execute(delete(t.receipts).where(*receipts_where))
        result.removed["consent_events"] = events
        result.removed["receipts"] = receipts
    cs = t.consent_states.c
    session.execute(delete(t.consent_states).where(cs.tenant_id == tenant_id, cs.contact_id == contact_id))

    # Complaints: the record of handling is kept (blind index only); the summary text is deleted.
    cp = t.complaints.c
    of_complaints = (cp.tenant_id == tenant_id, cp.contact_id == contact_id)
    complaints = _count(session, t.complaints, *of_complaints)
    complaint_rule = rules.retention("complaint", jurisdictions)
    if complaints and (complaint_rule.period is None or complaint_rule.period.total_seconds() > 0):
        session.execute(update(t.complaints).where(*of_complaints).values(contact_id=None, summary_ct=None))
        result.kept.append(
            {"kind": "complaints", "count": complaints, "source": complaint_rule.source,
             "why": "complaint-handling record; summary deleted, contact link removed"}
        )  # fmt: skip
        result.removed["complaint_summaries"] = complaints
    elif complaints:
        session.execute(delete(t.complaints).where(*of_complaints))
        result.removed["complaints"] = complaints

    # Call attempts: call records with a pseudonymous contact id, kept for their retention.
    at = t.attempts.c
    of_attempts = (at.tenant_id == tenant_id, at.contact_id == contact_id)
    attempts = _count(session, t.attempts, *of_attempts)
    attempt_rule = rules.retention("call_attempt", jurisdictions)
    if attempts and (attempt_rule.period is None or attempt_rule.period.total_seconds() > 0):
        result.kept.append(
            {"kind": "call_attempts", "count": attempts, "source": attempt_rule.source,
             "why": "call records, pseudonymous (no number, no destination)"}
        )  # fmt: skip
    elif attempts:
        session.execute(delete(t.attempts).where(*of_attempts))
        result.removed["call_attempts"] = attempts

    # Requests about this contact: their encrypted new number dies with the DEK; null it anyway.
    rq = t.subject_requests.c
    session.execute(
        update(t.subject_requests)
        .where(rq.tenant_id == tenant_id, rq.contact_id == contact_id, rq.new_phone_ct.is_not(None))
        .values(new_phone_ct=None)
    )

    # The shredding itself: the row with the wrapped DEK and the encrypted number (handles cascade).
    session.execute(delete(t.dial_handles).where(h.tenant_id == tenant_id, h.contact_id == contact_id))
    session.execute(delete(t.contacts).where(t.contacts.c.id == contact_id, t.contacts.c.tenant_id == tenant_id))
    result.removed["contact"] = 1
    if journal:
        session.execute(
            t.erasure_journal.insert().values(
                tenant_id=tenant_id, blind_index=blind, contact_id=contact_id, request_id=request_id, erased_at=now
            )
        )
    record_event(
        session, keyring, actor, "contact.erased", now, target_type="contact", target_id=contact_id,
        reason="erasure", details={"request_id": request_id, "kept": {k["kind"]: k["count"] for k in result.kept},
                                   "removed": result.removed},
    )  # fmt: skip
    session.flush()
    return result


def is_erased_handle(session: Session, tenant_id: str, digest: bytes) -> bool:
    """True when `digest` is a handle of a contact that was erased (authorize answers `erased`)."""
    found = session.execute(
        select(t.erased_handles.c.digest).where(
            t.erased_handles.c.tenant_id == tenant_id, t.erased_handles.c.digest == digest
        )
    ).first()
    return found is not None


def checkpoint_store(database: Database) -> bool:
    """After erasures, move the WAL into the (secure-deleted) database and truncate it. SQLite only."""
    return database.truncate_wal()
