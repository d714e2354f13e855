"""Caller lines (主叫号码, with their carrier whitelist status) and the tenant's licences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from ...errors import Conflict, InvalidInput, NotFound
from ...storage import tables as t
from .._context import Actor, Vault
from .._ids import new_id
from .._phone import parse_phone
from ..audit import record_event

__all__ = [
    "WHITELIST_STATUSES",
    "add_caller_line",
    "add_licence",
    "list_caller_lines",
    "list_licences",
    "update_caller_line",
]

WHITELIST_STATUSES = frozenset({"approved", "pending", "revoked"})
DEFAULT_EXPIRY_NOTICE_DAYS = 30


def _check_status(status: str) -> str:
    if status not in WHITELIST_STATUSES:
        raise InvalidInput(
            "whitelist_status must be approved, pending or revoked", code="invalid_whitelist_status",
            field="whitelist_status",
        )  # fmt: skip
    return status


def add_caller_line(
    session: Session,
    vault: Vault,
    actor: Actor,
    *,
    number: str,
    region: str | None,
    carrier: str | None,
    whitelist_status: str,
    whitelisted_until: datetime | None,
    now: datetime,
) -> str:
    e164 = parse_phone(number, region, field="number").e164
    _check_status(whitelist_status)
    c = t.caller_lines.c
    exists = session.execute(select(c.id).where(c.tenant_id == actor.tenant_id, c.number == e164)).scalar_one_or_none()
    if exists is not None:
        raise Conflict("this caller line is already registered", code="caller_line_exists")
    line_id = new_id("cl")
    session.execute(
        t.caller_lines.insert().values(
            id=line_id, tenant_id=actor.tenant_id, number=e164, carrier=carrier, whitelist_status=whitelist_status,
            whitelisted_until=whitelisted_until, created_at=now,
        )
    )  # fmt: skip
    record_event(
        session, vault.keyrings.get(session, actor.tenant_id), actor, "caller_line.added", now,
        target_type="caller_line", target_id=line_id, details={"whitelist_status": whitelist_status},
    )  # fmt: skip
    return line_id


_UNSET: Any = object()


def update_caller_line(
    session: Session,
    vault: Vault,
    actor: Actor,
    line_id: str,
    *,
    now: datetime,
    whitelist_status: str | None = None,
    whitelisted_until: datetime | None = _UNSET,
    carrier: str | None = _UNSET,
) -> dict[str, Any]:
    c = t.caller_lines.c
    found = session.execute(select(c.id).where(c.id == line_id, c.tenant_id == actor.tenant_id)).scalar_one_or_none()
    if found is None:
        raise NotFound("unknown caller line", code="caller_line_not_found")
    values: dict[str, Any] = {}
    if whitelist_status is not None:
        values["whitelist_status"] = _check_status(whitelist_status)
    if whitelisted_until is not _UNSET:
        values["whitelisted_until"] = whitelisted_until
    if carrier is not _UNSET:
        values["carrier"] = carrier
    if values:
        session.execute(update(t.caller_lines).where(c.id == line_id).values(values))
        record_event(
            session, vault.keyrings.get(session, actor.tenant_id), actor, "caller_line.updated", now,
            target_type="caller_line", target_id=line_id,
            details={"whitelist_status": values.get("whitelist_status"), "fields": sorted(values)},
        )  # fmt: skip
    return _lines(session, actor.tenant_id, now, DEFAULT_EXPIRY_NOTICE_DAYS, only=line_id)[0]


def _lines(
    session: Session, tenant_id: str, now: datetime, days: int, *, only: str | None = None, expiring: bool = False
) -> list[dict[str, Any]]:
    c = t.caller_lines.c
    horizon = now + timedelta(days=days)
    query = select(c.id, c.number, c.carrier, c.whitelist_status, c.whitelisted_until, c.created_at).where(
        c.tenant_id == tenant_id
    )
    if only is not None:
        query = query.where(c.id == only)
    if expiring:
        query = query.where(c.whitelisted_until.is_not(None), c.whitelisted_until <= horizon)
    out = []
    for r in session.execute(query.order_by(c.created_at, c.id)):
        until = r.whitelisted_until
        out.append(
            {
                "caller_line_id": r.id,
                "number": r.number,
                "carrier": r.carrier,
                "whitelist_status": r.whitelist_status,
                "whitelisted_until": until.isoformat() if until else None,
                "expired": until is not None and until <= now,
                "expiring_soon": until is not None and until <= horizon,
                "usable": r.whitelist_status == "approved" and (until is None or until > now),
            }
        )
    return out


def list_caller_lines(
    session: Session, actor: Actor, now: datetime, expiring_within_days: int | None = None
) -> list[dict[str, Any]]:
    """All lines (flagged `expiring_soon` within 30 days), or only those expiring within N days."""
    if expiring_within_days is None:
        return _lines(session, actor.tenant_id, now, DEFAULT_EXPIRY_NOTICE_DAYS)
    return _lines(session, actor.tenant_id, now, expiring_within_days, expiring=True)


# -- licences -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LicenceInput:
    kind: str
    number: str
    purposes: Sequence[str]
    valid_from: datetime
    valid_until: datetime | None = None


def add_licence(
    session: Session, vault: Vault, actor: Actor, item: LicenceInput, known_purposes: frozenset[str], now: datetime
) -> str:
    if not item.purposes:
        raise InvalidInput("name at least one purpose", code="invalid_request", field="purposes")
    for purpose in item.purposes:
        if purpose not in known_purposes:
            raise InvalidInput("the purpose is not defined by policy", code="unknown_purpose", field="purposes")
    if item.valid_until is not None and item.valid_until <= item.valid_from:
        raise InvalidInput("valid_until must be after valid_from", code="invalid_period", field="valid_until")
    licence_id = new_id("lc")
    session.execute(
        t.licences.insert().values(
            id=licence_id, tenant_id=actor.tenant_id, kind=item.kind, number=item.number,
            purposes=sorted(set(item.purposes)), valid_from=item.valid_from, valid_until=item.valid_until,
            created_at=now,
        )
    )  # fmt: skip
    record_event(
        session, vault.keyrings.get(session, actor.tenant_id), actor, "licence.added", now,
        target_type="licence", target_id=licence_id, details={"kind": item.kind, "purposes": sorted(item.purposes)},
    )  # fmt: skip
    return licence_id


def list_licences(
    session: Session, actor: Actor, now: datetime, expiring_within_days: int | None = None
) -> list[dict[str, Any]]:
    c = t.licences.c
    days = DEFAULT_EXPIRY_NOTICE_DAYS if expiring_within_days is None else expiring_within_days
    horizon = now + timedelta(days=days)
    query = select(c.id, c.kind, c.number, c.purposes, c.valid_from, c.valid_until).where(
        c.tenant_id == actor.tenant_id
    )
    if expiring_within_days is not None:
        query = query.where(c.valid_until.is_not(None), c.valid_until <= horizon)
    return [
        {
            "licence_id": r.id,
            "kind": r.kind,
            "number": r.number,
            "purposes": list(r.purposes),
            "valid_from": r.valid_from.isoformat(),
            "valid_until": r.valid_until.isoformat() if r.valid_until else None,
            "valid_now": r.valid_from <= now and (r.valid_until is None or r.valid_until > now),
            "expiring_soon": r.valid_until is not None and r.valid_until <= horizon,
        }
        for r in session.execute(query.order_by(c.valid_from, c.id))
    ]
