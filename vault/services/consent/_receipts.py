"""Consent receipts: Kantara Consent Receipt v1.1 payloads, signed as compact EdDSA JWS."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from ...crypto import TenantKeyring
from ...errors import NotFound
from ...storage import tables as t
from .._context import Actor, Vault

__all__ = ["build_receipt", "get_receipt", "published_jwks", "sign_receipt", "tenant_name"]

RECEIPT_VERSION = "KI-CR-v1.1.0"


def tenant_name(session: Session, tenant_id: str) -> str:
    name = session.execute(select(t.tenants.c.name).where(t.tenants.c.id == tenant_id)).scalar_one()
    return str(name)


def build_receipt(
    *,
    receipt_id: str,
    controller: str,
    contact_id: str,
    event_type: str,
    purpose: str,
    purpose_category: tuple[str, ...],
    explicit: bool,
    channels: list[str],
    method: str,
    jurisdiction: str | None,
    language: str | None,
    occurred_at: datetime,
    expires_at: datetime | None,
    notice: dict[str, str] | None,
    policy_url: str | None,
) -> dict[str, Any]:
    """The receipt payload. `piiPrincipalId` is the pseudonymous contact id, never the number."""
    if event_type == "withdrawn":
        termination = "withdrawn"
    else:
        termination = expires_at.isoformat() if expires_at is not None else "on withdrawal"
    return {
        "version": RECEIPT_VERSION,
        "jurisdiction": jurisdiction or "",
        "consentTimestamp": int(occurred_at.timestamp()),
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
                        "channels": channels,
                    }
                ],
            }
        ],
        "sensitive": False,
        "spiCat": [],
        "notice": notice,
        "event": event_type,
    }


def sign_receipt(keyring: TenantKeyring, payload: dict[str, Any]) -> str:
    return keyring.sign(payload)


def _payload_of(jws: str) -> dict[str, Any]:
    body = jws.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return decoded


def get_receipt(session: Session, actor: Actor, receipt_id: str) -> dict[str, Any]:
    jws = session.execute(
        select(t.receipts.c.jws).where(t.receipts.c.id == receipt_id, t.receipts.c.tenant_id == actor.tenant_id)
    ).scalar_one_or_none()
    if jws is None:
        raise NotFound("unknown receipt", code="receipt_not_found")
    return {"receipt": _payload_of(jws), "jws": jws}


def published_jwks(session: Session, vault: Vault) -> dict[str, Any]:
    """Every tenant's receipt-verification keys (kids are tenant-qualified)."""
    keys: list[dict[str, str]] = []
    for (tenant_id,) in session.execute(select(t.tenants.c.id).order_by(t.tenants.c.id)):
        keys.extend(vault.keyrings.get(session, tenant_id).jwks())
    return {"keys": keys}
