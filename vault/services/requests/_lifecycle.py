"""Data-subject requests: received → identity_verified → in_progress → completed, or denied,
extended, canceled. Every transition is a SubjectRequestEvent row and an audit entry."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from ...crypto import DecryptionError, TenantKeyring
from ...errors import Conflict, InvalidInput, NotFound
from ...storage import tables as t
from .._context import Actor, Vault
from .._ids import new_id
from .._phone import number_facts, parse_phone
from ..audit import record_event
from ..consent import suppress_blind_index, withdraw_consents
from ..contacts import find_contact_id, register_contact
from ._erasure import erase_contact
from ._rules import CONSENTS_STAY_WITH_NUMBER, rules_for

__all__ = [
    "CLOSED",
    "NEW_PHONE_FIELD",
    "TYPES",
    "cancel_request",
    "create_request",
    "deny_request",
    "execute_request",
    "extend_request",
    "get_request",
    "list_requests",
    "load_request",
    "verify_identity",
]

TYPES = frozenset({"access", "erasure", "rectification", "withdraw_all"})
CLOSED = frozenset({"completed", "denied", "canceled"})
NEW_PHONE_FIELD = "dsr_new_phone"
_JURISDICTION = re.compile(r"[A-Z]{2}(?:-[A-Z0-9]{1,3})?")
_METHOD = re.compile(r"[a-z][a-z0-9_]{0,39}")
_NUMBER_LIKE = re.compile(r"\d(?:[\s().-]?\d){6,}")


@dataclass(frozen=True, slots=True)
class _Row:
    id: str
    type: str
    status: str
    contact_id: str | None
    blind_index: bytes
    jurisdictions: list[str]
    received_at: datetime
    due_at: datetime
    verified_at: datetime | None
    verification_method: str | None
    new_phone_ct: bytes | None
    completed_at: datetime | None
    result: dict[str, Any] | None


_COLUMNS = (
    t.subject_requests.c.id, t.subject_requests.c.type, t.subject_requests.c.status,
    t.subject_requests.c.contact_id, t.subject_requests.c.blind_index, t.subject_requests.c.jurisdictions,
    t.subject_requests.c.received_at, t.subject_requests.c.due_at, t.subject_requests.c.verified_at,
    t.subject_requests.c.verification_method, t.subject_requests.c.new_phone_ct,
    t.subject_requests.c.completed_at, t.subject_requests.c.result,
)  # fmt: skip


def load_request(session: Session, tenant_id: str, request_id: str) -> _Row:
    """The request of this tenant, or 404 (another tenant's id answers exactly like an unknown one)."""
    row = session.execute(
        select(*_COLUMNS).where(t.subject_requests.c.id == request_id, t.subject_requests.c.tenant_id == tenant_id)
    ).one_or_none()
    if row is None:
        raise NotFound("unknown request", code="request_not_found")
    return _Row(**row._asdict())


def _actor_label(actor: Actor) -> str:
    return f"{actor.role}:{actor.key_id}"


def _note(text: str, field: str = "reason") -> str:
    cleaned = text.strip()
    if not cleaned or len(cleaned) > 500:
        raise InvalidInput("give a reason of 1 to 500 characters", code="invalid_reason", field=field)
    if _NUMBER_LIKE.search(cleaned):
        raise InvalidInput("the reason must not contain a phone number", code="invalid_reason", field=field)
    return cleaned


def _transition(
    session: Session,
    keyring: TenantKeyring,
    actor: Actor,
    request_id: str,
    from_status: str | None,
    to_status: str,
    now: datetime,
    *,
    note: str | None = None,
    details: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
) -> None:
    if from_status is not None:
        session.execute(
            update(t.subject_requests)
            .where(t.subject_requests.c.id == request_id)
            .values(status=to_status, **(values or {}))
        )
    session.execute(
        t.subject_request_events.insert().values(
            request_id=request_id, from_status=from_status, to_status=to_status, at=now,
            actor=_actor_label(actor), note=note,
        )
    )  # fmt: skip
    record_event(
        session, keyring, actor, f"dsr.{to_status}", now, target_type="subject_request", target_id=request_id,
        details={"from": from_status, **(details or {})},
    )  # fmt: skip


def _require_open(row: _Row) -> None:
    if row.status in CLOSED:
        raise Conflict(f"the request is already {row.status}", code="request_closed")


def create_request(
    session: Session,
    vault: Vault,
    actor: Actor,
    *,
    type: str,
    phone: str,
    now: datetime,
    region: str | None = None,
    jurisdiction: str | None = None,
    new_phone: str | None = None,
    new_region: str | None = None,
) -> dict[str, Any]:
    if type not in TYPES:
        raise InvalidInput("unknown request type", code="invalid_request_type", field="type")
    tenant_id = actor.tenant_id
    parsed = parse_phone(phone, region)
    new_e164: str | None = None
    if type == "rectification":
        if not new_phone:
            raise InvalidInput("a rectification names the new number", code="invalid_phone_number", field="new_phone")
        new_e164 = parse_phone(new_phone, new_region or region, field="new_phone").e164
        if new_e164 == parsed.e164:
            raise InvalidInput("the new number is the old one", code="invalid_phone_number", field="new_phone")
    rules = rules_for(session, vault, tenant_id)
    if jurisdiction is not None:
        if not _JURISDICTION.fullmatch(jurisdiction):
            raise InvalidInput("unknown jurisdiction code", code="invalid_jurisdiction", field="jurisdiction")
        jurisdictions = [jurisdiction]
    else:
        facts = number_facts(parsed.e164)
        jurisdictions = rules.jurisdictions_for(facts.region, facts.subdivisions)
    keyring = vault.keyrings.get(session, tenant_id)
    blind = keyring.blind_index(parsed.e164)
    contact_id = find_contact_id(session, keyring, parsed.e164)
    new_phone_ct: bytes | None = None
    if new_e164 is not None and contact_id is not None:
        wrapped = session.execute(select(t.contacts.c.wrapped_dek).where(t.contacts.c.id == contact_id)).scalar_one()
        dek = keyring.unwrap_contact_dek(contact_id, wrapped)
        new_phone_ct = keyring.encrypt_field(dek, contact_id, NEW_PHONE_FIELD, new_e164.encode("ascii"))
    due_at = rules.due_at(jurisdictions, type, now)
    request_id = new_id("dsr")
    session.execute(
        t.subject_requests.insert().values(
            id=request_id, tenant_id=tenant_id, type=type, status="received", contact_id=contact_id,
            blind_index=blind, jurisdictions=jurisdictions, received_at=now, due_at=due_at,
            new_phone_ct=new_phone_ct,
        )
    )  # fmt: skip
    _transition(
        session, keyring, actor, request_id, None, "received", now,
        details={"type": type, "contact_id": contact_id, "jurisdictions": jurisdictions},
    )  # fmt: skip
    return {"request_id": request_id, "status": "received", "due_at": due_at, "contact_held": contact_id is not None}


def verify_identity(
    session: Session, vault: Vault, actor: Actor, request_id: str, method: str, reference: str, now: datetime
) -> dict[str, Any]:
    row = load_request(session, actor.tenant_id, request_id)
    _require_open(row)
    if row.verified_at is not None:
        raise Conflict("the identity is already verified", code="already_verified")
    if not _METHOD.fullmatch(method):
        raise InvalidInput("the method must be a snake_case code", code="invalid_method", field="method")
    if not reference.strip() or len(reference) > 500:
        raise InvalidInput("give a reference of 1 to 500 characters", code="invalid_reference", field="reference")
    digest = hashlib.sha256(reference.encode("utf-8")).hexdigest()
    keyring = vault.keyrings.get(session, actor.tenant_id)
    # An extended request keeps its extended status (and due date); verification is on record either way.
    to_status = "extended" if row.status == "extended" else "identity_verified"
    values = {"verified_at": now, "verification_method": method, "verification_ref_digest": digest}
    if to_status == row.status:
        session.execute(update(t.subject_requests).where(t.subject_requests.c.id == request_id).values(**values))
        session.execute(
            t.subject_request_events.insert().values(
                request_id=request_id, from_status=row.status, to_status=row.status, at=now,
                actor=_actor_label(actor), note="identity_verified",
            )
        )  # fmt: skip
        record_event(
            session, keyring, actor, "dsr.identity_verified", now, target_type="subject_request",
            target_id=request_id, details={"method": method},
        )  # fmt: skip
    else:
        _transition(
            session, keyring, actor, request_id, row.status, to_status, now, details={"method": method}, values=values
        )
    return get_request(session, actor, request_id, now)


def deny_request(
    session: Session, vault: Vault, actor: Actor, request_id: str, reason: str, now: datetime
) -> dict[str, Any]:
    row = load_request(session, actor.tenant_id, request_id)
    _require_open(row)
    note = _note(reason)
    keyring = vault.keyrings.get(session, actor.tenant_id)
    _transition(session, keyring, actor, request_id, row.status, "denied", now, note=note, values={"completed_at": now})
    return get_request(session, actor, request_id, now)


def cancel_request(session: Session, vault: Vault, actor: Actor, request_id: str, now: datetime) -> dict[str, Any]:
    row = load_request(session, actor.tenant_id, request_id)
    _require_open(row)
    keyring = vault.keyrings.get(session, actor.tenant_id)
    _transition(session, keyring, actor, request_id, row.status, "canceled", now, values={"completed_at": now})
    return get_request(session, actor, request_id, now)


def extend_request(
    session: Session, vault: Vault, actor: Actor, request_id: str, reason: str, now: datetime
) -> dict[str, Any]:
    row = load_request(session, actor.tenant_id, request_id)
    _require_open(row)
    note = _note(reason)
    if row.status == "extended":
        raise Conflict("the request was already extended", code="already_extended")
    limit = rules_for(session, vault, actor.tenant_id).extended_due_at(row.jurisdictions, row.type, row.received_at)
    if limit is None or limit <= row.due_at:
        raise Conflict("no regime of this request allows an extension", code="extension_not_allowed")
    keyring = vault.keyrings.get(session, actor.tenant_id)
    _transition(
        session, keyring, actor, request_id, row.status, "extended", now, note=note,
        details={"due_at": limit.isoformat()}, values={"due_at": limit},
    )  # fmt: skip
    return get_request(session, actor, request_id, now)


def _current_contact(session: Session, tenant_id: str, blind: bytes) -> str | None:
    found = session.execute(
        select(t.contacts.c.id).where(t.contacts.c.tenant_id == tenant_id, t.contacts.c.blind_index == blind)
    ).scalar_one_or_none()
    return None if found is None else str(found)


def execute_request(session: Session, vault: Vault, actor: Actor, request_id: str, now: datetime) -> dict[str, Any]:
    """Run a verified request to completion in the caller's transaction."""
    tenant_id = actor.tenant_id
    row = load_request(session, tenant_id, request_id)
    _require_open(row)
    if row.verified_at is None:
        raise Conflict("verify the subject's identity first", code="identity_not_verified")
    keyring = vault.keyrings.get(session, tenant_id)
    _transition(session, keyring, actor, request_id, row.status, "in_progress", now)
    contact_id = _current_contact(session, tenant_id, row.blind_index)
    result: dict[str, Any]
    if row.type == "access":
        result = {
            "held": contact_id is not None,
            "contact_id": contact_id,
            "package": f"/v1/requests/{request_id}/package",
        }
    elif row.type == "erasure":
        if contact_id is None:
            result = {"erased": False, "contact_id": None, "kept": [], "removed": {}}
        else:
            result = erase_contact(
                session, vault, actor, contact_id, now, request_id=request_id, jurisdictions=row.jurisdictions
            ).as_dict()
    elif row.type == "withdraw_all":
        if contact_id is None:
            result = {"withdrawn": 0, "purposes": []}
        else:
            withdrawal = withdraw_consents(session, vault, actor, contact_id, None, now, reason="dsr_withdraw_all")
            result = {"withdrawn": withdrawal.withdrawn, "purposes": withdrawal.purposes}
    else:
        result = _rectify(session, vault, actor, row, contact_id, now)
    _transition(
        session, keyring, actor, request_id, "in_progress", "completed", now,
        details={"type": row.type}, values={"completed_at": now, "result": result},
    )  # fmt: skip
    return {"request_id": request_id, "status": "completed", "result": result}


def _rectify(
    session: Session, vault: Vault, actor: Actor, row: _Row, contact_id: str | None, now: datetime
) -> dict[str, Any]:
    tenant_id = actor.tenant_id
    if contact_id is None or row.new_phone_ct is None or contact_id != row.contact_id:
        return {"rectified": False, "reason": "nothing_held"}
    keyring = vault.keyrings.get(session, tenant_id)
    wrapped = session.execute(select(t.contacts.c.wrapped_dek).where(t.contacts.c.id == contact_id)).scalar_one()
    try:
        dek = keyring.unwrap_contact_dek(contact_id, wrapped)
        new_e164 = keyring.decrypt_field(dek, contact_id, NEW_PHONE_FIELD, row.new_phone_ct).decode("ascii")
    except DecryptionError:
        return {"rectified": False, "reason": "nothing_held"}
    new_contact = register_contact(session, vault, actor, new_e164, None, now).contact_id
    new_blind = keyring.blind_index(new_e164)
    s = t.suppressions.c
    suppression = session.execute(
        select(s.reason).where(s.tenant_id == tenant_id, s.blind_index == row.blind_index)
    ).scalar_one_or_none()
    suppression_copied = False
    if suppression is not None:
        suppression_copied = suppress_blind_index(
            session, vault, actor, new_blind, str(suppression), "rectification", now
        ).created
    withdrawn = withdraw_consents(session, vault, actor, contact_id, None, now, reason="rectified").withdrawn
    erasure = erase_contact(session, vault, actor, contact_id, now, request_id=row.id, jurisdictions=row.jurisdictions)
    record_event(
        session, keyring, actor, "contact.rectified", now, target_type="contact", target_id=contact_id,
        details={"request_id": row.id, "new_contact_id": new_contact, "consents_withdrawn": withdrawn,
                 "suppression_copied": suppression_copied},
    )  # fmt: skip
    return {
        "rectified": True,
        "old_contact_id": contact_id,
        "new_contact_id": new_contact,
        "consents": {"moved": 0, "withdrawn": withdrawn, "source": CONSENTS_STAY_WITH_NUMBER},
        "suppression_copied": suppression_copied,
        "erasure": erasure.as_dict(),
    }


def _view(row: _Row, now: datetime) -> dict[str, Any]:
    return {
        "request_id": row.id,
        "type": row.type,
        "status": row.status,
        "contact_id": row.contact_id,
        "jurisdictions": row.jurisdictions,
        "received_at": row.received_at,
        "due_at": row.due_at,
        "overdue": row.status not in CLOSED and row.due_at < now,
        "verified_at": row.verified_at,
        "verification_method": row.verification_method,
        "completed_at": row.completed_at,
        "result": row.result,
    }


def get_request(session: Session, actor: Actor, request_id: str, now: datetime) -> dict[str, Any]:
    row = load_request(session, actor.tenant_id, request_id)
    ev = t.subject_request_events.c
    history = [
        {"from_status": e.from_status, "to_status": e.to_status, "at": e.at, "actor": e.actor, "note": e.note}
        for e in session.execute(
            select(ev.from_status, ev.to_status, ev.at, ev.actor, ev.note)
            .where(ev.request_id == request_id)
            .order_by(ev.id)
        )
    ]
    return {**_view(row, now), "history": history}


def list_requests(
    session: Session, actor: Actor, now: datetime, *, overdue: bool | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    rq = t.subject_requests.c
    query = select(*_COLUMNS).where(rq.tenant_id == actor.tenant_id)
    if status is not None:
        query = query.where(rq.status == status)
    if overdue is True:
        query = query.where(rq.status.not_in(CLOSED), rq.due_at < now)
    elif overdue is False:
        query = query.where(rq.status.in_(CLOSED) | (rq.due_at >= now))
    return [_view(_Row(**r._asdict()), now) for r in session.execute(query.order_by(rq.due_at, rq.id))]
