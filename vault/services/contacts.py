"""Contacts: register numbers (one or many), find them by blind index, reveal them internally."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from ..crypto import TenantKeyring
from ..errors import DialvaultError, NotFound
from ..storage import bulk_insert
from ..storage import tables as t
from ..storage.tables import Contact
from ._context import Actor, Vault
from ._ids import new_id
from ._phone import ParsedNumber, parse_phone
from .audit import record_event

__all__ = [
    "PHONE_FIELD",
    "BatchItemError",
    "RegisteredContact",
    "decrypt_number",
    "ensure_contacts",
    "find_contact_id",
    "register_contact",
    "register_contacts",
    "require_contact",
    "reveal_number",
]

PHONE_FIELD = "phone"


@dataclass(frozen=True, slots=True)
class RegisteredContact:
    contact_id: str
    created: bool


@dataclass(frozen=True, slots=True)
class BatchItemError:
    index: int
    code: str
    message: str
    field: str | None = None


def _new_contact_row(keyring: TenantKeyring, e164: str, blind: bytes, now: datetime) -> dict[str, object]:
    contact_id = new_id("ct")
    dek, wrapped = keyring.new_contact_dek(contact_id)
    return {
        "id": contact_id,
        "tenant_id": keyring.tenant_id,
        "blind_index": blind,
        "wrapped_dek": wrapped,
        "dek_key_version": keyring.dek_wrap_version(wrapped),
        "phone_ct": keyring.encrypt_field(dek, contact_id, PHONE_FIELD, e164.encode("ascii")),
        "created_at": now,
        "updated_at": now,
    }


def ensure_contacts(
    session: Session, keyring: TenantKeyring, numbers: Sequence[str], now: datetime
) -> dict[str, tuple[str, bool]]:
    """E.164 → (contact_id, created) for each distinct number; inserts the missing ones atomically."""
    blinds = {e164: keyring.blind_index(e164) for e164 in numbers}
    existing = _ids_by_blind(session, keyring.tenant_id, list(blinds.values()))
    missing = [e164 for e164, blind in blinds.items() if blind not in existing]
    created: set[bytes] = set()
    if missing:
        rows = [_new_contact_row(keyring, e164, blinds[e164], now) for e164 in missing]
        inserted = bulk_insert(session, t.contacts, rows, ignore_conflicts_on=["tenant_id", "blind_index"])
        if inserted == len(rows):
            existing.update((row["blind_index"], row["id"]) for row in rows)  # type: ignore[misc]
            created = {blinds[e164] for e164 in missing}
        else:
            # A concurrent writer inserted some of these first: read back who owns each number.
            existing = _ids_by_blind(session, keyring.tenant_id, list(blinds.values()))
            mine = {row["id"] for row in rows}
            created = {blind for blind, cid in existing.items() if cid in mine}
    return {e164: (existing[blind], blind in created) for e164, blind in blinds.items()}


def _ids_by_blind(session: Session, tenant_id: str, blinds: list[bytes]) -> dict[bytes, str]:
    found: dict[bytes, str] = {}
    for start in range(0, len(blinds), 500):
        chunk = blinds[start : start + 500]
        for blind, contact_id in session.execute(
            select(t.contacts.c.blind_index, t.contacts.c.id).where(
                t.contacts.c.tenant_id == tenant_id,
                t.contacts.c.blind_index.in_(chunk),
            )
        ):
            found[blind] = contact_id
    return found


def register_contact(
    session: Session, vault: Vault, actor: Actor, phone: str, region: str | None, now: datetime
) -> RegisteredContact:
    parsed = parse_phone(phone, region)
    keyring = vault.keyrings.get(session, actor.tenant_id)
    contact_id, created = ensure_contacts(session, keyring, [parsed.e164], now)[parsed.e164]
    if created:
        record_event(session, keyring, actor, "contact.created", now, target_type="contact", target_id=contact_id)
    return RegisteredContact(contact_id, created)


def register_contacts(
    session: Session, vault: Vault, actor: Actor, items: Sequence[tuple[str, str | None]], now: datetime
) -> list[RegisteredContact | BatchItemError]:
    """Register many numbers in one transaction; a bad item is reported by index, good ones still load."""
    keyring = vault.keyrings.get(session, actor.tenant_id)
    parsed: list[ParsedNumber | BatchItemError] = []
    for index, (phone, region) in enumerate(items):
        try:
            parsed.append(parse_phone(phone, region))
        except DialvaultError as exc:
            parsed.append(BatchItemError(index, exc.code, exc.message, "phone"))
    good = [p.e164 for p in parsed if isinstance(p, ParsedNumber)]
    owners = ensure_contacts(session, keyring, list(dict.fromkeys(good)), now) if good else {}
    results: list[RegisteredContact | BatchItemError] = []
    seen: set[str] = set()
    for item in parsed:
        if isinstance(item, BatchItemError):
            results.append(item)
            continue
        contact_id, created = owners[item.e164]
        results.append(RegisteredContact(contact_id, created and item.e164 not in seen))
        seen.add(item.e164)
    new_count = sum(1 for r in results if isinstance(r, RegisteredContact) and r.created)
    record_event(
        session,
        keyring,
        actor,
        "contacts.registered",
        now,
        target_type="contact",
        details={"created": new_count, "existing": len(good) - new_count, "rejected": len(items) - len(good)},
    )
    return results


def find_contact_id(session: Session, keyring: TenantKeyring, e164: str) -> str | None:
    return _ids_by_blind(session, keyring.tenant_id, [keyring.blind_index(e164)]).get(keyring.blind_index(e164))


def require_contact(session: Session, tenant_id: str, contact_id: str) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None or contact.tenant_id != tenant_id:
        raise NotFound("unknown contact", code="contact_not_found")
    return contact


def decrypt_number(keyring: TenantKeyring, contact_id: str, wrapped_dek: bytes, phone_ct: bytes) -> str:
    """Decrypt a contact's number from its stored columns. Callers audit any reveal in the same transaction."""
    dek = keyring.unwrap_contact_dek(contact_id, wrapped_dek)
    return keyring.decrypt_field(dek, contact_id, PHONE_FIELD, phone_ct).decode("ascii")


def reveal_number(keyring: TenantKeyring, contact: Contact) -> str:
    """Decrypt a contact's number. Callers must audit the reveal in the same transaction."""
    return decrypt_number(keyring, contact.id, contact.wrapped_dek, contact.phone_ct)
