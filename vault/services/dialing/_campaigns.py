"""Campaigns: one dialing run of a tenant for one purpose and channel, with its caller lines."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import Session

from ...errors import Conflict, DialvaultError, InvalidInput, NotFound
from ...storage import tables as t
from .._context import Actor, Vault
from .._ids import new_id
from .._phone import parse_phone
from ..audit import record_event
from ._rules import dial_rules

__all__ = ["CampaignInput", "close_campaign", "create_campaign", "get_campaign"]

_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


@dataclass(frozen=True, slots=True)
class CampaignInput:
    name: str
    purpose: str
    channel: str
    caller_lines: Sequence[str]
    window: Mapping[str, Any] | None = None
    caps: Sequence[Mapping[str, int]] = field(default_factory=tuple)


def _check_window(window: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if window is None:
        return None
    start, end = window.get("start"), window.get("end")
    days = window.get("days", list(range(7)))
    if not isinstance(start, str) or not _HHMM.fullmatch(start):
        raise InvalidInput("window.start must be HH:MM", code="invalid_window", field="window.start")
    if not isinstance(end, str) or not _HHMM.fullmatch(end):
        raise InvalidInput("window.end must be HH:MM", code="invalid_window", field="window.end")
    if end <= start:
        raise InvalidInput("window.end must be after window.start", code="invalid_window", field="window.end")
    if (
        not isinstance(days, list)
        or not days
        or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in days)
    ):
        raise InvalidInput("window.days are weekdays 0 (Monday) to 6", code="invalid_window", field="window.days")
    return {"start": start, "end": end, "days": sorted(set(days))}


def _check_caps(caps: Sequence[Mapping[str, int]]) -> list[dict[str, int]] | None:
    out = []
    for cap in caps:
        max_attempts, period_hours = cap.get("max_attempts"), cap.get("period_hours")
        if not isinstance(max_attempts, int) or max_attempts < 1:
            raise InvalidInput("caps need max_attempts ≥ 1", code="invalid_cap", field="caps")
        if not isinstance(period_hours, int) or not 1 <= period_hours <= 24 * 366:
            raise InvalidInput("caps need period_hours between 1 and 8784", code="invalid_cap", field="caps")
        out.append({"max_attempts": max_attempts, "period_hours": period_hours})
    return out or None


def create_campaign(session: Session, vault: Vault, actor: Actor, item: CampaignInput, now: datetime) -> str:
    tenant_id = actor.tenant_id
    rules = dial_rules(session, vault, tenant_id)
    purpose = rules.purpose(item.purpose)
    if purpose is None:
        raise InvalidInput("the purpose is not defined by policy", code="unknown_purpose", field="purpose")
    if item.channel not in purpose.channels:
        raise InvalidInput("the purpose does not allow this channel", code="channel_not_allowed", field="channel")
    window, caps = _check_window(item.window), _check_caps(item.caps)
    if not item.caller_lines:
        raise InvalidInput("name at least one caller line", code="caller_line_not_registered", field="caller_lines")
    numbers: list[str] = []
    for raw in item.caller_lines:
        try:
            numbers.append(parse_phone(raw, None, field="caller_lines").e164)
        except DialvaultError:
            raise InvalidInput(
                "a caller line is not a valid number", code="invalid_phone_number", field="caller_lines"
            ) from None
    c = t.caller_lines.c
    lines: dict[str, str] = {
        number: line_id
        for number, line_id in session.execute(
            select(c.number, c.id).where(c.tenant_id == tenant_id, c.number.in_(set(numbers)))
        )
    }
    if any(n not in lines for n in numbers):
        raise InvalidInput(
            "every caller line must be registered to the tenant", code="caller_line_not_registered",
            field="caller_lines",
        )  # fmt: skip
    campaign_id = new_id("cm")
    session.execute(
        t.campaigns.insert().values(
            id=campaign_id, tenant_id=tenant_id, name=item.name, purpose=item.purpose, channel=item.channel,
            status="open", window=window, caps=caps, created_at=now, closed_at=None,
        )
    )  # fmt: skip
    line_ids = sorted({lines[n] for n in numbers})
    session.execute(
        t.campaign_caller_lines.insert(), [{"campaign_id": campaign_id, "caller_line_id": i} for i in line_ids]
    )
    record_event(
        session, vault.keyrings.get(session, tenant_id), actor, "campaign.created", now,
        target_type="campaign", target_id=campaign_id,
        details={"purpose": item.purpose, "channel": item.channel, "caller_line_ids": line_ids},
    )  # fmt: skip
    return campaign_id


def get_campaign(session: Session, actor: Actor, campaign_id: str) -> dict[str, Any]:
    c = t.campaigns.c
    row = session.execute(
        select(c.id, c.name, c.purpose, c.channel, c.status, c.window, c.caps, c.created_at, c.closed_at).where(
            c.id == campaign_id, c.tenant_id == actor.tenant_id
        )
    ).one_or_none()
    if row is None:
        raise NotFound("unknown campaign", code="campaign_not_found")
    cl, ccl = t.caller_lines.c, t.campaign_caller_lines.c
    lines = session.execute(
        select(cl.id, cl.number)
        .join(t.campaign_caller_lines, ccl.caller_line_id == cl.id)
        .where(ccl.campaign_id == campaign_id)
        .order_by(cl.number)
    ).all()
    return {
        "campaign_id": row.id,
        "name": row.name,
        "purpose": row.purpose,
        "channel": row.channel,
        "status": row.status,
        "window": row.window,
        "caps": row.caps or [],
        "caller_lines": [{"caller_line_id": i, "number": n} for i, n in lines],
        "created_at": row.created_at.isoformat(),
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
    }


def close_campaign(session: Session, vault: Vault, actor: Actor, campaign_id: str, now: datetime) -> dict[str, Any]:
    """Close a campaign: every handle it issued is refused from now on (authorize answers `campaign_closed`)."""
    c = t.campaigns.c
    status = session.execute(
        select(c.status).where(c.id == campaign_id, c.tenant_id == actor.tenant_id)
    ).scalar_one_or_none()
    if status is None:
        raise NotFound("unknown campaign", code="campaign_not_found")
    if status == "closed":
        raise Conflict("the campaign is already closed", code="campaign_closed")
    session.execute(update(t.campaigns).where(c.id == campaign_id).values(status="closed", closed_at=now))
    h = t.dial_handles.c
    outstanding = session.execute(
        select(func.count()).where(
            h.campaign_id == campaign_id, h.tenant_id == actor.tenant_id, h.revoked_at.is_(None), h.expires_at > now
        )
    ).scalar_one()
    record_event(
        session, vault.keyrings.get(session, actor.tenant_id), actor, "campaign.closed", now,
        target_type="campaign", target_id=campaign_id, details={"handles_invalidated": int(outstanding)},
    )  # fmt: skip
    return {"campaign_id": campaign_id, "status": "closed", "handles_invalidated": int(outstanding)}
