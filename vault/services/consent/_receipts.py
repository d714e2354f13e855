"""Consent receipts: Kantara Consent Receipt v1.1 payloads, signed as compact EdDSA JWS.

A receipt is kept in its consent event's row as a MAC under the tenant's audit key over its canonical JSON
payload, and signed when it is read. The payload itself is not stored: it is the template of its shape
(controller, purpose, channels, notice, ...; one row of `receipt_templates` per shape) filled in with the
event row's receipt id, time, contact id and expiry. Ed25519 is deterministic, so every read of a receipt
gives the same token (until the tenant's receipt key is rotated: then reads are signed by the new key).

A signature per consent at capture was the largest single cost of batch capture and import (~60-70 µs
each), and a stored payload (~1 KiB, a row with three indexes) the largest part of what a consent wrote. The
MAC keeps what the signature at capture gave: the vault signs only a payload it stored itself, and a payload
whose template or row was edited, or whose MAC was moved to another row, is refused. Receipts of earlier
revisions are rows of `receipts` (payload and MAC, or a JWS signed at capture) and are served as before.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from sqlalchemy import insert, select
from sqlmodel import Session

from ...crypto import DecryptionError, KeyFamily, TenantKeyring, constant_time_equal
from ...errors import DialvaultError, NotFound
from ...storage import bulk_insert
from ...storage import tables as t
from .._context import Actor, Vault

__all__ = [
    "ReceiptSealer", "ReceiptShape", "SealedReceipt", "SignedReceipt", "contact_receipts", "get_receipt",
    "published_jwks", "receipt_id_of_event", "tenant_name",
]  # fmt: skip

RECEIPT_VERSION = "KI-CR-v1.1.0"
_MAC_CONTEXT = b"consent-receipt\x00"  # keeps these MACs apart from the ledger's under the same key
_ROW_MAC_CONTEXT = b"consent-receipt-row\x00"  # ... and those of receipts kept in event rows from those of payloads
# Per-receipt values, in the order they appear in the payload's canonical JSON: filled into a template made
# once per batch for each shape of receipt.
_SLOTS = ("receipt_id", "consent_timestamp", "contact_id", "termination")
_SENTINELS = tuple(f"\ue000{name}\ue000" for name in _SLOTS)  # private-use marks, stored verbatim in JSON


def tenant_name(session: Session, tenant_id: str) -> str:
    name = session.execute(select(t.tenants.c.name).where(t.tenants.c.id == tenant_id)).scalar_one()
    return str(name)


def _canonical(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _payload(
    *,
    receipt_id: str,
    consent_timestamp: Any,
    contact_id: str,
    termination: str,
    controller: str,
    event_type: str,
    purpose: str,
    purpose_category: tuple[str, ...],
    explicit: bool,
    channels: tuple[str, ...],
    method: str,
    jurisdiction: str | None,
    language: str | None,
    notice: tuple[tuple[str, str], ...] | None,
    policy_url: str | None,
) -> dict[str, Any]:
    """The receipt payload. `piiPrincipalId` is the pseudonymous contact id, never the number."""
    return {
        "version": RECEIPT_VERSION,
        "jurisdiction": jurisdiction or "",
        "consentTimestamp": consent_timestamp,
        "collectionMethod": method,
        "consentReceiptID": receipt_id,
        "language": language or "",
        "piiPrincipalId": contact_id,
        "piiControllers": [{"piiController": controller}],
        "policyUrl": policy_url or "",
        "services": [
            {
                "service": purpose,
                "purposes": [
                    {
                        "purpose": purpose,
                        "consentType": "EXPLICIT" if explicit else "IMPLIED",
                        "purposeCategory": list(purpose_category),
                        "piiCategory": ["phone number"],
                        "primaryPurpose": True,
                        "termination": termination,
                        "thirdPartyDisclose": False,
                        "channels": list(channels),
                    }
                ],
            }
        ],
        "sensitive": False,
        "spiCat": [],
        "notice": dict(notice) if notice is not None else None,
        "event": event_type,
    }


def _template(shape: dict[str, Any]) -> tuple[str, ...] | None:
    """The canonical JSON of a receipt of this shape, cut where the per-receipt values go (None: no safe cut).

    Keys are sorted, so the values come in the order of `_SLOTS`; the text between them is the template.
    """
    sentinels: dict[str, Any] = dict(zip(_SLOTS, _SENTINELS, strict=True))
    text = _canonical(_payload(**shape, **sentinels))
    pieces: list[str] = []
    position = 0
    for mark in (encode_basestring(s) for s in _SENTINELS):
        at = text.find(mark, position)
        if at < 0 or text.count(mark) != 1:
            return None  # the shape's own text holds a sentinel: build each payload in full instead
        pieces.append(text[position:at])
        position = at + len(mark)
    pieces.append(text[position:])
    return tuple(pieces)


def _termination(event_type: str, expires_at: datetime | None) -> str:
    if event_type == "withdrawn":
        return "withdrawn"
    return "on withdrawal" if expires_at is None else expires_at.astimezone(UTC).isoformat()


def _row_slots(
    receipt_id: str, occurred_at: datetime, contact_id: str, event_type: str, expires_at: datetime | None
) -> tuple[str, str, str, str]:
    """A receipt's own values as they appear in its canonical JSON (in the order of `_SLOTS`), from its event row."""
    return (
        encode_basestring(receipt_id),
        str(int(occurred_at.timestamp())),
        encode_basestring(contact_id),
        encode_basestring(_termination(event_type, expires_at)),
    )


def _fill(pieces: Sequence[str], slots: tuple[str, str, str, str]) -> str:
    return "".join(
        (pieces[0], slots[0], pieces[1], slots[1], pieces[2], slots[2], pieces[3], slots[3], pieces[4])
    )  # fmt: skip


def _row_mac_input(template_sha256: str, slots: tuple[str, str, str, str]) -> bytes:
    """What the MAC of a receipt kept in its event row covers: its template (by digest) and its own values.

    The payload is a function of exactly these, so this binds it as a MAC over the payload would, for a
    fraction of the hashing. JSON-encoded values hold no raw control character: the separator is unambiguous.
    The values a batch's receipts share (time, termination) come first, so that part is built once.
    """
    receipt_id, timestamp, contact_id, termination = slots
    return _row_mac_prefix(template_sha256, timestamp, termination) + f"{receipt_id}\x1f{contact_id}".encode()


def _row_mac_prefix(template_sha256: str, timestamp: str, termination: str) -> bytes:
    return _ROW_MAC_CONTEXT + f"{template_sha256}\x1f{timestamp}\x1f{termination}\x1f".encode()


class SealedReceipt(NamedTuple):
    """What an event row keeps of its receipt; all None when the receipt is a row of `receipts` instead."""

    template_id: int | None
    mac: bytes | None
    mac_key_version: int | None


_WHOLE = SealedReceipt(None, None, None)


@dataclass(frozen=True, slots=True)
class ReceiptShape:
    """What receipts of one kind share; `template_id` is None for a shape kept whole (see `ReceiptSealer`)."""

    facts: dict[str, Any]
    template_id: int | None
    template_sha256: str

    @property
    def event_type(self) -> str:
        return str(self.facts["event_type"])


class ReceiptSealer:
    """Receipts of one unit of work: a template per shape (stored once), a MAC per receipt.

    A shape whose own text holds a template marker cannot be cut safely: its receipts are stored whole, as
    rows of `receipts` (written by `flush`), like the receipts of earlier revisions.
    """

    def __init__(self, session: Session, keyring: TenantKeyring, controller: str, now: datetime) -> None:
        self._session = session
        self._keyring = keyring
        self._controller = controller
        self._now = now
        self._mac_version = keyring.current_version(KeyFamily.AUDIT_MAC)
        self._shapes: dict[Hashable, ReceiptShape] = {}
        self._macs: dict[tuple[int, datetime, datetime | None], Callable[[str], bytes]] = {}
        self._whole: list[tuple[Any, ...]] = []

    def shape(
        self,
        *,
        event_type: str,
        purpose: str,
        purpose_category: tuple[str, ...],
        explicit: bool,
        channels: tuple[str, ...],
        method: str,
        jurisdiction: str | None,
        language: str | None,
        notice: tuple[tuple[str, str], ...] | None,
        policy_url: str | None,
    ) -> ReceiptShape:
        """The shape of receipts with these facts; its template is stored the first time it is asked for."""
        facts = {
            "controller": self._controller, "event_type": event_type, "purpose": purpose,
            "purpose_category": purpose_category, "explicit": explicit, "channels": channels, "method": method,
            "jurisdiction": jurisdiction, "language": language, "notice": notice, "policy_url": policy_url,
        }  # fmt: skip
        key = tuple(facts.values())
        found = self._shapes.get(key)
        if found is None:
            found = self._shapes[key] = self._stored_shape(facts)
        return found

    def seal(
        self,
        shape: ReceiptShape,
        receipt_id: str,
        event_id: str,
        contact_id: str,
        occurred_at: datetime,
        expires_at: datetime | None,
    ) -> SealedReceipt:
        """The receipt of one consent event of this shape: the arguments are the values of the event's row."""
        if shape.template_id is None:
            return self._seal_whole(shape, receipt_id, event_id, contact_id, occurred_at, expires_at)
        # A batch's receipts share a few shapes, instants and expiries: their part of the MAC input is built,
        # and fed to the keyed MAC, once.
        key = (id(shape), occurred_at, expires_at)
        macs = self._macs.get(key)
        if macs is None:
            slots = _row_slots("", occurred_at, "", shape.event_type, expires_at)
            prefix = _row_mac_prefix(shape.template_sha256, slots[1], slots[3])
            macs = self._macs[key] = self._keyring.audit_macs(prefix, self._mac_version)
        mac = macs(f"{encode_basestring(receipt_id)}\x1f{encode_basestring(contact_id)}")
        return SealedReceipt(shape.template_id, mac, self._mac_version)

    def _seal_whole(
        self,
        shape: ReceiptShape,
        receipt_id: str,
        event_id: str,
        contact_id: str,
        occurred_at: datetime,
        expires_at: datetime | None,
    ) -> SealedReceipt:
        text = _canonical(
            _payload(
                receipt_id=receipt_id, consent_timestamp=int(occurred_at.timestamp()), contact_id=contact_id,
                termination=_termination(shape.event_type, expires_at), **shape.facts,
            )
        )  # fmt: skip
        mac = self._keyring.audit_mac(_MAC_CONTEXT + text.encode("utf-8"), self._mac_version)
        self._whole.append(
            (receipt_id, self._keyring.tenant_id, event_id, contact_id, text, mac, self._mac_version, self._now)
        )
        return _WHOLE

    def flush(self) -> None:
        """Store the receipts kept whole (see the class)."""
        bulk_insert(self._session, t.receipts, self._whole, columns=_WHOLE_COLUMNS)
        self._whole = []

    def _stored_shape(self, facts: dict[str, Any]) -> ReceiptShape:
        pieces = _template(facts)
        if pieces is None:
            return ReceiptShape(facts, None, "")
        text = json.dumps(pieces, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        tenant_id = self._keyring.tenant_id
        rt = t.receipt_templates.c
        found = self._session.execute(
            select(rt.id).where(rt.tenant_id == tenant_id, rt.sha256 == digest)
        ).scalar_one_or_none()
        if found is None:
            found = self._session.execute(
                insert(t.receipt_templates)
                .values(tenant_id=tenant_id, sha256=digest, pieces=text, created_at=self._now)
                .returning(rt.id)
            ).scalar_one()
        return ReceiptShape(facts, int(found), digest)


_WHOLE_COLUMNS = (
    "id", "tenant_id", "consent_event_id", "contact_id", "payload", "mac", "mac_key_version", "created_at",
)  # fmt: skip


def receipt_id_of_event(event_id: str) -> str:
    """The id of an event's receipt: the event's own id under the receipt prefix (it is found by the event)."""
    return "rc_" + event_id.removeprefix("ce_")


class _Stored(NamedTuple):
    """A stored receipt: signed at capture (`jws`), or a payload with the MAC over `signed` (fails closed)."""

    id: str
    jws: str | None
    payload: str | None
    signed: bytes | None
    mac: bytes | None
    mac_key_version: int | None


def _whole_stored(row: Any) -> _Stored:
    receipt_id, jws, payload, mac, version = row[:5]
    signed = None if payload is None else _MAC_CONTEXT + payload.encode("utf-8")
    return _Stored(receipt_id, jws, payload, signed, mac, version)


def _embedded_stored(row: Any) -> _Stored:
    """An event row's receipt: its template filled in from the row."""
    receipt_id, occurred_at, contact_id, event_type, expires_at, text, mac, version = row[:8]
    payload = signed = None
    if text is not None:
        pieces = json.loads(text)
        if isinstance(pieces, list) and len(pieces) == len(_SLOTS) + 1 and all(isinstance(p, str) for p in pieces):
            slots = _row_slots(receipt_id, occurred_at, contact_id, event_type, expires_at)
            payload = _fill(pieces, slots)
            signed = _row_mac_input(hashlib.sha256(text.encode("utf-8")).hexdigest(), slots)
    return _Stored(receipt_id, None, payload, signed, mac, version)


def _sign(keyring: TenantKeyring, stored: _Stored) -> tuple[str, dict[str, Any]]:
    """The receipt's JWS and payload; refuses (fails closed) a payload the vault did not store for it."""
    if stored.jws is not None:  # signed when captured, before receipts were signed on read
        body = stored.jws.split(".")[1]
        signed: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        return stored.jws, signed
    refused = DialvaultError("the stored receipt failed its integrity check", code="receipt_integrity_failed")
    if stored.payload is None or stored.signed is None or stored.mac is None or stored.mac_key_version is None:
        raise refused
    try:
        expected = keyring.audit_mac(stored.signed, stored.mac_key_version)
    except DecryptionError:
        raise refused from None
    if not constant_time_equal(expected, bytes(stored.mac)):
        raise refused
    payload: dict[str, Any] = json.loads(stored.payload)
    if payload.get("consentReceiptID") != stored.id:
        raise refused
    return keyring.sign(payload), payload


def _columns() -> tuple[Any, ...]:
    rc = t.receipts.c
    return rc.id, rc.jws, rc.payload, rc.mac, rc.mac_key_version


def _embedded_columns() -> tuple[Any, ...]:
    ce = t.consent_events.c
    return (
        ce.receipt_id, ce.occurred_at, ce.contact_id, ce.event_type, ce.expires_at, t.receipt_templates.c.pieces,
        ce.receipt_mac, ce.receipt_mac_key_version, ce.id, ce.recorded_at,
    )  # fmt: skip


def _with_templates() -> Any:
    ce, rt = t.consent_events.c, t.receipt_templates.c
    return t.consent_events.outerjoin(
        t.receipt_templates, (rt.id == ce.receipt_template_id) & (rt.tenant_id == ce.tenant_id)
    )


def get_receipt(session: Session, vault: Vault, actor: Actor, receipt_id: str) -> dict[str, Any]:
    ce = t.consent_events.c
    embedded = session.execute(
        select(*_embedded_columns())
        .select_from(_with_templates())
        .where(
            ce.id == "ce_" + receipt_id.removeprefix("rc_"),
            ce.tenant_id == actor.tenant_id,
            ce.receipt_id == receipt_id,
            ce.receipt_mac.is_not(None),
        )
    ).one_or_none()
    if embedded is not None:
        stored = _embedded_stored(embedded)
    else:
        row = session.execute(
            select(*_columns()).where(t.receipts.c.id == receipt_id, t.receipts.c.tenant_id == actor.tenant_id)
        ).one_or_none()
        if row is None:
            raise NotFound("unknown receipt", code="receipt_not_found")
        stored = _whole_stored(row)
    jws, payload = _sign(vault.keyrings.get(session, actor.tenant_id), stored)
    return {"receipt": payload, "jws": jws}


class SignedReceipt(NamedTuple):
    receipt_id: str
    consent_event_id: str
    jws: str
    created_at: datetime


def contact_receipts(session: Session, vault: Vault, tenant_id: str, contact_id: str) -> list[SignedReceipt]:
    """Every receipt of a contact, signed, oldest first."""
    rc, ce = t.receipts.c, t.consent_events.c
    whole = session.execute(
        select(*_columns(), rc.consent_event_id, rc.created_at).where(
            rc.tenant_id == tenant_id, rc.contact_id == contact_id
        )
    ).all()
    embedded = session.execute(
        select(*_embedded_columns())
        .select_from(_with_templates())
        .where(ce.tenant_id == tenant_id, ce.contact_id == contact_id, ce.receipt_mac.is_not(None))
    ).all()
    stored = [(_whole_stored(r), r.consent_event_id, r.created_at) for r in whole]
    stored += [(_embedded_stored(r), r.id, r.recorded_at) for r in embedded]
    if not stored:
        return []
    stored.sort(key=lambda s: (s[2], s[0].id))
    keyring = vault.keyrings.get(session, tenant_id)
    return [SignedReceipt(s.id, event_id, _sign(keyring, s)[0], created_at) for s, event_id, created_at in stored]


def published_jwks(session: Session, vault: Vault) -> dict[str, Any]:
    """Every tenant's receipt-verification keys (kids are tenant-qualified)."""
    keys: list[dict[str, str]] = []
    for (tenant_id,) in session.execute(select(t.tenants.c.id).order_by(t.tenants.c.id)):
        keys.extend(vault.keyrings.get(session, tenant_id).jwks())
    return {"keys": keys}
