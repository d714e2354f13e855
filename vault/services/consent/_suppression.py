"""The internal do-not-call list, keyed by blind index so it outlives erasure of the contact."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlmodel import Session

from ...errors import DialvaultError, InvalidInput, NotFound
from ...storage import bulk_insert
from ...storage import tables as t
from .._context import Actor, Vault
from .._ids import new_id
from .._phone import parse_phone
from ..audit import record_event
from ..contacts import BatchItemError

__all__ = [
    "SuppressionResult",
    "add_suppression",
    "add_suppressions",
    "check_reason",
    "is_suppressed",
    "remove_suppression",
    "suppress_blind_index",
]

_REASON = re.compile(r"[a-z][a-z_]{0,39}")


def check_reason(reason: str, field: str = "reason") -> str:
    """Reasons are stable snake_case codes (they go into the audit ledger)."""
    if not _REASON.fullmatch(reason):
        raise InvalidInput("the reason must be a snake_case code", code="invalid_reason", field=field)
    return reason


@dataclass(frozen=True, slots=True)
class SuppressionResult:
    suppression_id: str
    created: bool


def is_suppressed(session: Session, tenant_id: str, blind_index: bytes, now: datetime) -> bool:
    c = t.suppressions.c
    found = session.execute(
        select(c.id).where(
            c.tenant_id == tenant_id, c.blind_index == blind_index, or_(c.expires_at.is_(None), c.expires_at > now)
        )
    ).first()
    return found is not None


def _find(session: Session, tenant_id: str, blind: bytes) -> str | None:
    c = t.suppressions.c
    found = session.execute(select(c.id).where(c.tenant_id == tenant_id, c.blind_index == blind)).scalar_one_or_none()
    return None if found is None else str(found)


def suppress_blind_index(
    session: Session, vault: Vault, actor: Actor, blind: bytes, reason: str, source: str, now: datetime
) -> SuppressionResult:
    """Suppress a number by its blind index (idempotent: an existing entry is kept as it is)."""
    check_reason(reason)
    check_reason(source, "source")
    tenant_id = actor.tenant_id
    existing = _find(session, tenant_id, blind)
    if existing is not None:
        return SuppressionResult(existing, created=False)
    row = {
        "id": new_id("sp"), "tenant_id": tenant_id, "blind_index": blind, "reason": reason, "source": source,
        "created_at": now, "expires_at": None,
    }  # fmt: skip
    bulk_insert(session, t.suppressions, [row], ignore_conflicts_on=["tenant_id", "blind_index"])
    suppression_id = _find(session, tenant_id, blind) or str(row["id"])
    created = suppression_id == row["id"]
    if created:
        record_event(
            session, vault.keyrings.get(session, tenant_id), actor, "suppression.added", now,
            target_type="suppression", target_id=suppression_id, reason=reason, details={"source": source},
        )  # fmt: skip
    return SuppressionResult(suppression_id, created)


def add_suppression(
    session: Session,
    vault: Vault,
    actor: Actor,
    phone: str,
    region: str | None,
    reason: str,
    now: datetime,
    *,
    source: str = "api",
) -> SuppressionResult:
    check_reason(reason)
    check_reason(source, "source")
    e164 = parse_phone(phone, region).e164
    blind = vault.keyrings.get(session, actor.tenant_id).blind_index(e164)
    return suppress_blind_index(session, vault, actor, blind, reason, source, now)


def add_suppressions(
    session: Session,
    vault: Vault,
    actor: Actor,
    items: Sequence[tuple[str, str | None]],
    reason: str,
    source: str,
    now: datetime,
) -> list[SuppressionResult | BatchItemError]:
    """Suppress many numbers in one transaction (an external DNC list); bad numbers reported by index."""
    check_reason(reason)
    check_reason(source, "source")
    tenant_id = actor.tenant_id
    keyring = vault.keyrings.get(session, tenant_id)
    blinds: list[bytes | BatchItemError] = []
    for index, (phone, region) in enumerate(items):
        try:
            blinds.append(keyring.blind_index(parse_phone(phone, region).e164))
        except DialvaultError as exc:
            blinds.append(BatchItemError(index, exc.code, exc.message, "phone"))
    wanted = list(dict.fromkeys(b for b in blinds if isinstance(b, bytes)))
    c = t.suppressions.c
    before: dict[bytes, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        before.update(
            (bytes(b), str(i))
            for b, i in session.execute(
                select(c.blind_index, c.id).where(c.tenant_id == tenant_id, c.blind_index.in_(chunk))
            )
        )
    rows = [
        {"id": new_id("sp"), "tenant_id": tenant_id, "blind_index": b, "reason": reason, "source": source,
         "created_at": now, "expires_at": None}
        for b in wanted if b not in before
    ]  # fmt: skip
    bulk_insert(session, t.suppressions, rows, ignore_conflicts_on=["tenant_id", "blind_index"])
    ids = {row["blind_index"]: str(row["id"]) for row in rows}
    out: list[SuppressionResult | BatchItemError] = []
    seen: set[bytes] = set()
    for b in blinds:
        if isinstance(b, BatchItemError):
            out.append(b)
        elif b in before or b in seen:
            out.append(SuppressionResult(before.get(b) or ids[b], created=False))
        else:
            seen.add(b)
            out.append(SuppressionResult(ids[b], created=True))
    created = sum(1 for r in out if isinstance(r, SuppressionResult) and r.created)
    rejected = sum(1 for r in out if isinstance(r, BatchItemError))
    record_event(
        session, keyring, actor, "suppressions.imported", now, target_type="suppression", reason=reason,
        details={"created": created, "existing": len(out) - created - rejected, "rejected": rejected, "source": source},
    )  # fmt: skip
    return out


def remove_suppression(
    session: Session, vault: Vault, actor: Actor, phone: str, region: str | None, reason: str, now: datetime
) -> str:
    """Lift a suppression (privacy role only, with a reason); audited. Unknown → 404."""
    check_reason(reason)
    tenant_id = actor.tenant_id
    keyring = vault.keyrings.get(session, tenant_id)
    blind = keyring.blind_index(parse_phone(phone, region).e164)
    suppression_id = _find(session, tenant_id, blind)
    if suppression_id is None:
        raise NotFound("the number is not suppressed", code="not_suppressed")
    session.execute(delete(t.suppressions).where(t.suppressions.c.id == suppression_id))
    record_event(
        session, keyring, actor, "suppression.removed", now, target_type="suppression",
        target_id=suppression_id, reason=reason,
    )  # fmt: skip
    return suppression_id
