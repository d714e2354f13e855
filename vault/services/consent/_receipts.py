"""Consent receipts: Kantara Consent Receipt v1.1 payloads, signed as compact EdDSA JWS.

A receipt is stored as its canonical JSON payload with a MAC under the tenant's audit key, and signed
when it is read. Ed25519 is deterministic, so every read of a receipt gives the same token (until the
tenant's receipt key is rotated: then reads are signed by the new key). A signature per consent at
capture was the largest single cost of batch capture and import (~60-70 µs each); a MAC costs a few µs
and keeps what the signature at capture gave: the vault signs only a payload it stored itself, and a
stored payload that was edited or moved to another row is refused.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Hashable
from datetime import datetime
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlmodel import Session

from ...crypto import DecryptionError, KeyFamily, TenantKeyring, constant_time_equal
from ...errors import DialvaultError, NotFound
from ...storage import tables as t
from .._context import Actor, Vault

__all__ = ["ReceiptSealer", "SignedReceipt", "contact_receipts", "get_receipt", "published_jwks", "tenant_name"]

RECEIPT_VERSION = "KI-CR-v1.1.0"
_MAC_CONTEXT = b"consent-receipt\x00"  # keeps these MACs apart from the ledger's under the same key
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


class ReceiptSealer:
    """Receipt payloads of one unit of work, as canonical JSON text, each with its MAC."""

    def __init__(self, keyring: TenantKeyring, controller: str) -> None:
        self._keyring = keyring
        self._controller = controller
        self.mac_version = keyring.current_version(KeyFamily.AUDIT_MAC)
        self._templates: dict[Hashable, tuple[str, ...] | None] = {}
        # A batch's events share a few instants: each is formatted once.
        self._timestamps: dict[datetime, str] = {}
        self._terminations: dict[datetime | None, str] = {None: "on withdrawal"}

    def seal(
        self,
        *,
        receipt_id: str,
        contact_id: str,
        event_type: str,
        purpose: str,
        purpose_category: tuple[str, ...],
        explicit: bool,
        channels: tuple[str, ...],
        method: str,
        jurisdiction: str | None,
        language: str | None,
        occurred_at: datetime,
        expires_at: datetime | None,
        notice: tuple[tuple[str, str], ...] | None,
        policy_url: str | None,
    ) -> tuple[str, bytes]:
        """(payload text, MAC) of the receipt of one consent event."""
        if event_type == "withdrawn":
            termination = "withdrawn"
        else:
            termination = self._terminations.get(expires_at) or self._termination(expires_at)
        timestamp = self._timestamps.get(occurred_at) or self._timestamp(occurred_at)
        key = (event_type, purpose, purpose_category, explicit, channels, method, jurisdiction, language, notice,
               policy_url)  # fmt: skip
        if key not in self._templates:
            shape = {
                "controller": self._controller, "event_type": event_type, "purpose": purpose,
                "purpose_category": purpose_category, "explicit": explicit, "channels": channels, "method": method,
                "jurisdiction": jurisdiction, "language": language, "notice": notice, "policy_url": policy_url,
            }  # fmt: skip
            self._templates[key] = _template(shape)
        template = self._templates[key]
        if template is None:
            text = _canonical(
                _payload(
                    receipt_id=receipt_id, consent_timestamp=int(timestamp), contact_id=contact_id,
                    termination=termination, controller=self._controller, event_type=event_type, purpose=purpose,
                    purpose_category=purpose_category, explicit=explicit, channels=channels, method=method,
                    jurisdiction=jurisdiction, language=language, notice=notice, policy_url=policy_url,
                )
            )  # fmt: skip
        else:
            text = "".join(
                (template[0], encode_basestring(receipt_id), template[1], timestamp, template[2],
                 encode_basestring(contact_id), template[3], encode_basestring(termination), template[4])
            )  # fmt: skip
        return text, self._keyring.audit_mac(_MAC_CONTEXT + text.encode("utf-8"), self.mac_version)

    def _termination(self, expires_at: datetime | None) -> str:
        assert expires_at is not None
        text = self._terminations[expires_at] = expires_at.isoformat()
        return text

    def _timestamp(self, occurred_at: datetime) -> str:
        text = self._timestamps[occurred_at] = str(int(occurred_at.timestamp()))
        return text


class _Stored(NamedTuple):
    id: str
    jws: str | None
    payload: str | None
    mac: bytes | None
    mac_key_version: int | None


def _sign(keyring: TenantKeyring, stored: _Stored) -> tuple[str, dict[str, Any]]:
    """The receipt's JWS and payload; refuses (fails closed) a payload the vault did not store for it."""
    if stored.jws is not None:  # signed when captured, before receipts were signed on read
        body = stored.jws.split(".")[1]
        signed: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        return stored.jws, signed
    refused = DialvaultError("the stored receipt failed its integrity check", code="receipt_integrity_failed")
    if stored.payload is None or stored.mac is None or stored.mac_key_version is None:
        raise refused
    try:
        expected = keyring.audit_mac(_MAC_CONTEXT + stored.payload.encode("utf-8"), stored.mac_key_version)
    except DecryptionError:
        raise refused from None
    payload: dict[str, Any] = json.loads(stored.payload)
    if not constant_time_equal(expected, bytes(stored.mac)) or payload.get("consentReceiptID") != stored.id:
        raise refused
    return keyring.sign(payload), payload


def _columns() -> tuple[Any, ...]:
    rc = t.receipts.c
    return rc.id, rc.jws, rc.payload, rc.mac, rc.mac_key_version


def get_receipt(session: Session, vault: Vault, actor: Actor, receipt_id: str) -> dict[str, Any]:
    row = session.execute(
        select(*_columns()).where(t.receipts.c.id == receipt_id, t.receipts.c.tenant_id == actor.tenant_id)
    ).one_or_none()
    if row is None:
        raise NotFound("unknown receipt", code="receipt_not_found")
    jws, payload = _sign(vault.keyrings.get(session, actor.tenant_id), _Stored(*row))
    return {"receipt": payload, "jws": jws}


class SignedReceipt(NamedTuple):
    receipt_id: str
    consent_event_id: str
    jws: str
    created_at: datetime


def contact_receipts(session: Session, vault: Vault, tenant_id: str, contact_id: str) -> list[SignedReceipt]:
    """Every receipt of a contact, signed, oldest first."""
    rc = t.receipts.c
    rows = session.execute(
        select(*_columns(), rc.consent_event_id, rc.created_at)
        .where(rc.tenant_id == tenant_id, rc.contact_id == contact_id)
        .order_by(rc.created_at, rc.id)
    ).all()
    if not rows:
        return []
    keyring = vault.keyrings.get(session, tenant_id)
    return [SignedReceipt(r.id, r.consent_event_id, _sign(keyring, _Stored(*r[:5]))[0], r.created_at) for r in rows]


def published_jwks(session: Session, vault: Vault) -> dict[str, Any]:
    """Every tenant's receipt-verification keys (kids are tenant-qualified)."""
    keys: list[dict[str, str]] = []
    for (tenant_id,) in session.execute(select(t.tenants.c.id).order_by(t.tenants.c.id)):
        keys.extend(vault.keyrings.get(session, tenant_id).jwks())
    return {"keys": keys}
