"""Complaints (投诉): taken at once, the number suppressed and consents withdrawn, answered by a due date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from ...errors import Conflict, InvalidInput, NotFound
from ...storage import tables as t
from .._context import Actor, Vault
from .._ids import new_id
from ..audit import record_event
from ..contacts import PHONE_FIELD, register_contact
from ._capture import withdraw_consents
from ._rules import rules_for
from ._subjects import contact_blind_index, resolve_subject
from ._suppression import suppress_blind_index

__all__ = ["FiledComplaint", "file_complaint", "list_complaints", "resolve_complaint"]

SUMMARY_FIELD = "complaint_summary"
COMPLAINT_REASON = "complaint"


@dataclass(frozen=True, slots=True)
class FiledComplaint:
    complaint_id: str
    contact_id: str
    due_at: datetime
    suppression_id: str
    withdrawn: int


def file_complaint(
    session: Session,
    vault: Vault,
    actor: Actor,
    *,
    channel: str,
    summary: str,
    now: datetime,
    phone: str | None = None,
    region: str | None = None,
    attempt_id: str | None = None,
    handle: str | None = None,
    jurisdiction: str | None = None,
) -> FiledComplaint:
    tenant_id = actor.tenant_id
    if not summary.strip():
        raise InvalidInput("the summary is empty", code="invalid_request", field="summary")
    subject = resolve_subject(session, vault, actor, phone=phone, region=region, attempt_id=attempt_id, handle=handle)
    contact_id = subject.contact_id
    if contact_id is None:
        assert subject.e164 is not None
        contact_id = register_contact(session, vault, actor, subject.e164, None, now).contact_id
    blind = contact_blind_index(session, tenant_id, contact_id)
    stored = session.execute(
        select(t.contacts.c.wrapped_dek, t.contacts.c.phone_ct).where(
            t.contacts.c.id == contact_id, t.contacts.c.tenant_id == tenant_id
        )
    ).one_or_none()
    if blind is None or stored is None:
        raise NotFound("the contact no longer exists", code="contact_not_found")
    keyring = vault.keyrings.get(session, tenant_id)
    wrapped, phone_ct = stored
    dek = keyring.unwrap_contact_dek(contact_id, wrapped)
    e164 = keyring.decrypt_field(dek, contact_id, PHONE_FIELD, phone_ct).decode("ascii")
    due_at = rules_for(session, vault, tenant_id).complaint_due_at(e164, now, jurisdiction)
    complaint_id = new_id("cp")
    session.execute(
        t.complaints.insert().values(
            id=complaint_id,
            tenant_id=tenant_id,
            contact_id=contact_id,
            blind_index=blind,
            attempt_id=attempt_id,
            channel=channel,
            summary_ct=keyring.encrypt_field(dek, contact_id, SUMMARY_FIELD, summary.encode("utf-8")),
            status="open",
            received_at=now,
            due_at=due_at,
        )
    )
    record_event(
        session, keyring, actor, "complaint.received", now, target_type="complaint", target_id=complaint_id,
        details={"contact_id": contact_id, "channel": channel, "attempt_id": attempt_id},
    )  # fmt: skip
    suppression = suppress_blind_index(session, vault, actor, blind, COMPLAINT_REASON, "complaint", now)
    withdrawal = withdraw_consents(session, vault, actor, contact_id, None, now, reason=COMPLAINT_REASON)
    return FiledComplaint(complaint_id, contact_id, due_at, suppression.suppression_id, withdrawal.withdrawn)


def _view(row: Any, now: datetime) -> dict[str, Any]:
    return {
        "complaint_id": row.id,
        "contact_id": row.contact_id,
        "attempt_id": row.attempt_id,
        "channel": row.channel,
        "status": row.status,
        "received_at": row.received_at.isoformat(),
        "due_at": row.due_at.isoformat(),
        "overdue": row.status == "open" and row.due_at < now,
        "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
        "resolution": row.resolution,
    }


def list_complaints(
    session: Session, actor: Actor, now: datetime, *, status: str | None = None, overdue: bool | None = None
) -> list[dict[str, Any]]:
    c = t.complaints.c
    query = select(
        c.id, c.contact_id, c.attempt_id, c.channel, c.status, c.received_at, c.due_at, c.resolved_at, c.resolution
    ).where(c.tenant_id == actor.tenant_id)
    if status is not None:
        query = query.where(c.status == status)
    if overdue is True:
        query = query.where(c.status == "open", c.due_at < now)
    elif overdue is False:
        query = query.where((c.status != "open") | (c.due_at >= now))
    return [_view(r, now) for r in session.execute(query.order_by(c.due_at, c.id))]


def resolve_complaint(
    session: Session, vault: Vault, actor: Actor, complaint_id: str, resolution: str, now: datetime
) -> dict[str, Any]:
    c = t.complaints.c
    status = session.execute(
        select(c.status).where(c.id == complaint_id, c.tenant_id == actor.tenant_id)
    ).scalar_one_or_none()
    if status is None:
        raise NotFound("unknown complaint", code="complaint_not_found")
    if status != "open":
        raise Conflict("the complaint is already resolved", code="complaint_already_resolved")
    if not resolution.strip():
        raise InvalidInput("the resolution is empty", code="invalid_request", field="resolution")
    session.execute(
        update(t.complaints)
        .where(c.id == complaint_id, c.tenant_id == actor.tenant_id)
        .values(status="resolved", resolved_at=now, resolution=resolution)
    )
    record_event(
        session, vault.keyrings.get(session, actor.tenant_id), actor, "complaint.resolved", now,
        target_type="complaint", target_id=complaint_id,
    )  # fmt: skip
    row = session.execute(
        select(
            c.id, c.contact_id, c.attempt_id, c.channel, c.status, c.received_at, c.due_at, c.resolved_at, c.resolution
        ).where(c.id == complaint_id)
    ).one()
    return _view(row, now)
