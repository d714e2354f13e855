"""The answer to an access request: everything held on the subject, decrypted (an audited reveal)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from ...crypto import DecryptionError
from ...errors import Conflict, NotFound
from ...storage import tables as t
from ...storage.tables import Contact
from .._context import Actor, Vault
from ..audit import record_event
from ..consent import consent_history, contact_receipts
from ..consent._complaints import SUMMARY_FIELD
from ..contacts import reveal_number
from ._lifecycle import load_request

__all__ = ["access_package"]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def access_package(session: Session, vault: Vault, actor: Actor, request_id: str, now: datetime) -> dict[str, Any]:
    tenant_id = actor.tenant_id
    request = load_request(session, tenant_id, request_id)
    if request.type != "access":
        raise Conflict("only an access request has a package", code="not_an_access_request")
    if request.status != "completed":
        raise Conflict("the access request is not completed yet", code="request_not_completed")
    keyring = vault.keyrings.get(session, tenant_id)
    blind = request.blind_index
    contact = session.execute(
        select(Contact).where(t.contacts.c.tenant_id == tenant_id, t.contacts.c.blind_index == blind)
    ).scalar_one_or_none()
    contact_id = contact.id if contact is not None else None
    package: dict[str, Any] = {
        "request_id": request_id,
        "generated_at": now.isoformat(),
        "controller_tenant_id": tenant_id,
        "held": contact is not None,
        "phone": reveal_number(keyring, contact) if contact is not None else None,
        "contact_id": contact_id,
        "contact_created_at": _iso(contact.created_at) if contact is not None else None,
    }
    dek = keyring.unwrap_contact_dek(contact.id, contact.wrapped_dek) if contact is not None else None

    consents: dict[str, Any] = {"purposes": {}, "events": []}
    if contact_id is not None:
        try:
            history = consent_history(session, actor, contact_id, now)
            consents = {"purposes": history["purposes"], "events": history["events"]}
        except NotFound:
            pass
    package["consents"] = consents

    package["receipts"] = [
        {"receipt_id": r.receipt_id, "consent_event_id": r.consent_event_id, "jws": r.jws,
         "created_at": _iso(r.created_at)}
        for r in contact_receipts(session, vault, tenant_id, contact_id)
    ] if contact_id is not None else []  # fmt: skip

    sp = t.suppressions.c
    package["suppressions"] = [
        {"suppression_id": r.id, "reason": r.reason, "source": r.source, "created_at": _iso(r.created_at),
         "expires_at": _iso(r.expires_at)}
        for r in session.execute(
            select(sp.id, sp.reason, sp.source, sp.created_at, sp.expires_at).where(
                sp.tenant_id == tenant_id, sp.blind_index == blind
            )
        )
    ]  # fmt: skip

    cp = t.complaints.c
    complaints: list[dict[str, Any]] = []
    for r in session.execute(
        select(
            cp.id, cp.contact_id, cp.attempt_id, cp.channel, cp.summary_ct, cp.status, cp.received_at, cp.due_at,
            cp.resolved_at, cp.resolution,
        )
        .where(cp.tenant_id == tenant_id, cp.blind_index == blind)
        .order_by(cp.received_at, cp.id)
    ):  # fmt: skip
        summary: str | None = None
        if dek is not None and r.summary_ct is not None and r.contact_id == contact_id:
            try:
                summary = keyring.decrypt_field(dek, r.contact_id, SUMMARY_FIELD, r.summary_ct).decode("utf-8")
            except DecryptionError:
                summary = None
        complaints.append(
            {"complaint_id": r.id, "attempt_id": r.attempt_id, "channel": r.channel, "summary": summary,
             "status": r.status, "received_at": _iso(r.received_at), "due_at": _iso(r.due_at),
             "resolved_at": _iso(r.resolved_at), "resolution": r.resolution}
        )  # fmt: skip
    package["complaints"] = complaints

    at = t.attempts.c
    package["call_attempts"] = [
        {"attempt_id": r.id, "campaign_id": r.campaign_id, "purpose": r.purpose, "channel": r.channel,
         "caller_line_id": r.caller_line_id, "authorized_at": _iso(r.authorized_at), "outcome": r.outcome,
         "outcome_at": _iso(r.outcome_at)}
        for r in session.execute(
            select(at.id, at.campaign_id, at.purpose, at.channel, at.caller_line_id, at.authorized_at, at.outcome,
                   at.outcome_at)
            .where(at.tenant_id == tenant_id, at.contact_id == contact_id)
            .order_by(at.authorized_at, at.id)
        )
    ] if contact_id is not None else []  # fmt: skip

    dh = t.dial_handles.c
    package["dial_handles"] = [
        {"handle_id": r.id, "campaign_id": r.campaign_id, "created_at": _iso(r.created_at),
         "expires_at": _iso(r.expires_at), "revoked_at": _iso(r.revoked_at)}
        for r in session.execute(
            select(dh.id, dh.campaign_id, dh.created_at, dh.expires_at, dh.revoked_at)
            .where(dh.tenant_id == tenant_id, dh.contact_id == contact_id)
            .order_by(dh.created_at, dh.id)
        )
    ] if contact_id is not None else []  # fmt: skip

    rq = t.subject_requests.c
    package["requests"] = [
        {"request_id": r.id, "type": r.type, "status": r.status, "received_at": _iso(r.received_at),
         "due_at": _iso(r.due_at), "completed_at": _iso(r.completed_at)}
        for r in session.execute(
            select(rq.id, rq.type, rq.status, rq.received_at, rq.due_at, rq.completed_at)
            .where(rq.tenant_id == tenant_id, rq.blind_index == blind)
            .order_by(rq.received_at, rq.id)
        )
    ]  # fmt: skip
    record_event(
        session, keyring, actor, "dsr.package_revealed", now, target_type="subject_request", target_id=request_id,
        details={"contact_id": contact_id, "held": contact is not None},
    )  # fmt: skip
    return package
