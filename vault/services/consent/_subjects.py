"""Finding the contact a request is about: by number, contact id, dial handle or call attempt."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from ...errors import InvalidInput, NotFound
from ...storage import tables as t
from .._context import Actor, Vault
from .._handle_tokens import handle_key
from .._phone import parse_phone
from ..contacts import find_contact_id

__all__ = ["Subject", "contact_blind_index", "resolve_subject"]


@dataclass(frozen=True, slots=True)
class Subject:
    """A contact (if one exists) and, when known, its number's E.164 form (never returned to clients)."""

    contact_id: str | None
    e164: str | None = None


def resolve_subject(
    session: Session,
    vault: Vault,
    actor: Actor,
    *,
    phone: str | None = None,
    region: str | None = None,
    contact_id: str | None = None,
    handle: str | None = None,
    attempt_id: str | None = None,
) -> Subject:
    """Exactly one identifier; unknown ids, handles and attempts are 404 (as for another tenant's)."""
    given = [x for x in (phone, contact_id, handle, attempt_id) if x is not None]
    if len(given) != 1:
        raise InvalidInput("name exactly one of the allowed identifiers", code="subject_required", field="phone")
    tenant_id = actor.tenant_id
    if phone is not None:
        e164 = parse_phone(phone, region).e164
        keyring = vault.keyrings.get(session, tenant_id)
        return Subject(find_contact_id(session, keyring, e164), e164)
    if contact_id is not None:
        found = session.execute(
            select(t.contacts.c.id).where(t.contacts.c.id == contact_id, t.contacts.c.tenant_id == tenant_id)
        ).scalar_one_or_none()
        if found is None:
            raise NotFound("unknown contact", code="contact_not_found")
        return Subject(str(found))
    if handle is not None:
        h = t.dial_handles.c
        handle_id, digest = handle_key(session, vault.keyrings.get(session, tenant_id), tenant_id, handle)
        found = None
        if handle_id is not None:
            found = session.execute(
                select(h.contact_id).where(h.id == handle_id, h.digest == digest, h.tenant_id == tenant_id)
            ).scalar_one_or_none()
        if found is None:
            raise NotFound("unknown handle", code="unknown_handle")
        return Subject(str(found))
    found = session.execute(
        select(t.attempts.c.contact_id).where(t.attempts.c.id == attempt_id, t.attempts.c.tenant_id == tenant_id)
    ).scalar_one_or_none()
    if found is None:
        raise NotFound("unknown attempt", code="unknown_attempt")
    return Subject(str(found))


def contact_blind_index(session: Session, tenant_id: str, contact_id: str) -> bytes | None:
    blind = session.execute(
        select(t.contacts.c.blind_index).where(t.contacts.c.id == contact_id, t.contacts.c.tenant_id == tenant_id)
    ).scalar_one_or_none()
    return None if blind is None else bytes(blind)
