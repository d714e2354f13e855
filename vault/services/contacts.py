"""Contacts: register numbers (one or many), find them by blind index, reveal them internally."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import NamedTuple, cast

from sqlalchemy import bindparam, select
from sqlmodel import Session

from ..crypto import KeyFamily, TenantKeyring
from ..errors import DialvaultError, NotFound
from ..storage import Prepared, Tx, bulk_insert, in_list_chunks
from ..storage import tables as t
from ..storage.tables import Contact
from ._context import Actor, Vault, indexes_by_tenant
from ._ids import new_grouped_ids
from ._phone import parse_phone, valid_e164_region
from .audit import record_event

__all__ = [
    "PHONE_FIELD",
    "BatchItemError",
    "RegisteredContact",
    "SealedContact",
    "decrypt_number",
    "ensure_contacts",
    "find_contact_id",
    "normalize_number",
    "register_contact",
    "register_contacts",
    "register_numbers",
    "require_contact",
    "reveal_number",
    "seal_contacts",
]

PHONE_FIELD = "phone"


class RegisteredContact(NamedTuple):
    # A named tuple, not a frozen dataclass: batches build thousands and it is 2-3x cheaper to create.
    contact_id: str
    created: bool


class SealedContact(NamedTuple):
    """A new contact's row but its times, made before it is known to be new: none of it needs the database."""

    contact_id: str
    blind_index: bytes
    wrapped_dek: bytes
    dek_key_version: int
    phone_ct: bytes


@dataclass(frozen=True, slots=True)
class BatchItemError:
    index: int
    code: str
    message: str
    field: str | None = None


_CONTACT_COLUMNS = (
    "id", "tenant_id", "blind_index", "wrapped_dek", "dek_key_version", "phone_ct", "created_at", "updated_at",
)  # fmt: skip


def ensure_contacts(
    unit: Session | Tx,
    keyring: TenantKeyring,
    numbers: Sequence[str],
    now: datetime,
    sealed: Mapping[str, SealedContact] | None = None,
) -> dict[str, tuple[str, bool]]:
    """E.164 → (contact_id, created) for each distinct number; inserts the missing ones atomically.

    `sealed`: rows made ahead (`seal_contacts`, by a bulk loader's second process) for numbers that may be
    new; a new number without one is sealed here."""
    distinct = list(dict.fromkeys(numbers))
    ids, created = _ensure(unit, keyring, distinct, now, sealed or {})
    return dict(zip(distinct, zip(ids, created, strict=True), strict=True))


def seal_contacts(keyring: TenantKeyring, numbers: Sequence[str]) -> list[SealedContact]:
    """New-contact rows for `numbers` (distinct E.164). Their ids share a random group: the rows of one call
    land in one region of the contact-keyed indexes."""
    return _seal(keyring, numbers, keyring.blind_indexes(numbers))


def _seal(keyring: TenantKeyring, numbers: Sequence[str], blinds: Sequence[bytes]) -> list[SealedContact]:
    # Grouped, not time-sorted: contact ids reach dialers and capture systems, and a pseudonym must not tell
    # when a person's number arrived.
    ids = new_grouped_ids("ct", len(numbers))
    sealed = keyring.seal_new_contacts(PHONE_FIELD, list(zip(ids, [n.encode("ascii") for n in numbers], strict=True)))
    version = keyring.current_version(KeyFamily.CONTACT_DEK_WRAP)
    return [
        SealedContact(contact_id, blind, wrapped, version, phone_ct)
        for contact_id, blind, (wrapped, phone_ct) in zip(ids, blinds, sealed, strict=True)
    ]


def _ensure(
    unit: Session | Tx, keyring: TenantKeyring, numbers: list[str], now: datetime, ahead: Mapping[str, SealedContact]
) -> tuple[list[str], list[bool]]:
    """The contact id of each of `numbers` (distinct E.164), and whether this call created it."""
    blinds = _blind_indexes(keyring, numbers, ahead)
    tenant_id = keyring.tenant_id
    # Batches are mostly all new (a load) or mostly known (a re-send), and a probe of a few numbers tells
    # which: a new batch skips the lookup (the insert's conflict check does it), a known one skips sealing.
    # One number: the insert's conflict check is the lookup (a known one costs a seal for nothing instead).
    probe = blinds[:: max(1, len(blinds) // _PROBE_SIZE)][:_PROBE_SIZE] if len(blinds) > 1 else []
    known = len(probe) == len(blinds) or bool(probe and _ids_by_blind(unit, tenant_id, probe))
    existing = _ids_by_blind(unit, tenant_id, blinds) if known else {}
    missing = [i for i, blind in enumerate(blinds) if blind not in existing] if existing else range(len(blinds))
    if not missing:
        return [existing[blind] for blind in blinds], [False] * len(blinds)
    unsealed = [i for i in missing if numbers[i] not in ahead]
    sealed_here = _seal(keyring, [numbers[i] for i in unsealed], [blinds[i] for i in unsealed])
    made = dict(zip(unsealed, sealed_here, strict=True))
    new = [made[i] if i in made else ahead[numbers[i]] for i in missing]
    rows = [
        (c.contact_id, tenant_id, c.blind_index, c.wrapped_dek, c.dek_key_version, c.phone_ct, now, now) for c in new
    ]
    ids = [c.contact_id for c in new]
    inserted = bulk_insert(
        unit, t.contacts, rows, columns=_CONTACT_COLUMNS, ignore_conflicts_on=["tenant_id", "blind_index"]
    )
    if inserted == len(blinds):
        return ids, [True] * len(ids)
    if inserted == len(rows):
        existing.update(zip([blinds[i] for i in missing], ids, strict=True))
    else:
        # Some were known after all (or a concurrent writer was first): read back who owns each number.
        existing = _ids_by_blind(unit, tenant_id, blinds)
    mine = set(ids)
    owners = [existing[blind] for blind in blinds]
    return owners, [owner in mine for owner in owners]


def _blind_indexes(keyring: TenantKeyring, numbers: list[str], ahead: Mapping[str, SealedContact]) -> list[bytes]:
    if not ahead:
        return keyring.blind_indexes(numbers)
    found = [sealed.blind_index if (sealed := ahead.get(n)) is not None else None for n in numbers]
    unknown = [n for n, blind in zip(numbers, found, strict=True) if blind is None]
    computed = iter(keyring.blind_indexes(unknown) if unknown else [])
    return [blind if blind is not None else next(computed) for blind in found]


def _ids_by_blind(unit: Session | Tx, tenant_id: str, blinds: list[bytes]) -> dict[bytes, str]:
    found: dict[bytes, str] = {}
    for size, params in in_list_chunks("b", blinds):
        params["tenant"] = tenant_id
        found.update(_ids_by_blind_query(size).all(unit, params))
    return found


_PROBE_SIZE = 16


@cache
def _ids_by_blind_query(size: int) -> Prepared:
    return Prepared(
        select(t.contacts.c.blind_index, t.contacts.c.id).where(
            t.contacts.c.tenant_id == bindparam("tenant"),
            t.contacts.c.blind_index.in_([bindparam(f"b{i}") for i in range(size)]),
        )
    )


def normalize_number(phone: str, region: str | None) -> str:
    """The E.164 form of a number as a registration takes it (invalid → InvalidInput, naming `phone`)."""
    return parse_phone(phone, region).e164


def register_contact(
    unit: Session | Tx, vault: Vault, actor: Actor, phone: str, region: str | None, now: datetime
) -> RegisteredContact:
    return register_numbers(unit, vault, [(actor, normalize_number(phone, region))], now)[0]


def register_numbers(
    unit: Session | Tx, vault: Vault, requests: Sequence[tuple[Actor, str]], now: datetime
) -> list[RegisteredContact]:
    """Single registrations (actor, E.164) of several requests at once, each answered as if alone: an audit
    entry in its actor's name for each contact it created; a number asked for twice is created by the first."""
    results: list[RegisteredContact] = [RegisteredContact("", False)] * len(requests)
    for tenant_id, indexes in indexes_by_tenant(requests).items():
        keyring = vault.keyrings.get(unit, tenant_id)
        owners = ensure_contacts(unit, keyring, [requests[i][1] for i in indexes], now)
        for index in indexes:
            actor, e164 = requests[index]
            contact_id, created = owners[e164]
            if created:
                owners[e164] = (contact_id, False)
                record_event(unit, keyring, actor, "contact.created", now, target_type="contact", target_id=contact_id)
            results[index] = RegisteredContact(contact_id, created)
    return results


def register_contacts(
    unit: Session | Tx, vault: Vault, actor: Actor, items: Sequence[tuple[str, str | None]], now: datetime
) -> list[RegisteredContact | BatchItemError]:
    """Register many numbers in one transaction; a bad item is reported by index, good ones still load."""
    keyring = vault.keyrings.get(unit, actor.tenant_id)
    numbers: list[str | None] = []  # per item: its E.164 form, or None if rejected
    errors: dict[int, BatchItemError] = {}
    for index, (phone, region) in enumerate(items):
        if valid_e164_region(phone) is not None:
            numbers.append(phone)
            continue
        try:
            numbers.append(parse_phone(phone, region).e164)
        except DialvaultError as exc:
            numbers.append(None)
            errors[index] = BatchItemError(index, exc.code, exc.message, "phone")
    distinct = dict.fromkeys(numbers)
    distinct.pop(None, None)
    ordered = cast(list[str], list(distinct))
    ids, created = _ensure(unit, keyring, ordered, now, {}) if ordered else ([], [])
    results: list[RegisteredContact | BatchItemError]
    if len(ordered) == len(items):  # every item valid and distinct: the results are in item order
        results = list(map(RegisteredContact, ids, created))
    else:
        owners = dict(zip(ordered, zip(ids, created, strict=True), strict=True))
        results = []
        for index, number in enumerate(numbers):
            if number is None:
                results.append(errors[index])
                continue
            contact_id, fresh = owners[number]
            results.append(RegisteredContact(contact_id, fresh))
            if fresh:  # only the first mention of a number in the batch reports it as created
                owners[number] = (contact_id, False)
    new_count = created.count(True)
    good = len(items) - len(errors)
    record_event(
        unit,
        keyring,
        actor,
        "contacts.registered",
        now,
        target_type="contact",
        details={"created": new_count, "existing": good - new_count, "rejected": len(errors)},
    )
    return results


def find_contact_id(unit: Session | Tx, keyring: TenantKeyring, e164: str) -> str | None:
    blind = keyring.blind_index(e164)
    return _ids_by_blind(unit, keyring.tenant_id, [blind]).get(blind)


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
