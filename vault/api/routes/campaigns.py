"""Campaigns (admin, dialer) and dial-handle issuance (dialer)."""

from __future__ import annotations

from json.encoder import encode_basestring
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ...services import Actor, Role
from ...services.dialing import CampaignInput, close_campaign, create_campaign, get_campaign, issue_handles
from .._deps import Now, VaultDep, WriteSession, require_roles
from .._routing import TextRoute

__all__ = ["router"]

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"], route_class=TextRoute)
AdminOrDialer = Annotated[Actor, require_roles(Role.ADMIN, Role.DIALER)]
Dialer = Annotated[Actor, require_roles(Role.DIALER)]
MAX_HANDLES = 10_000


class WindowIn(BaseModel):
    start: str = Field(pattern=r"^\d{2}:\d{2}$", examples=["09:00"])
    end: str = Field(pattern=r"^\d{2}:\d{2}$", examples=["18:00"])
    days: list[int] = Field(default_factory=lambda: list(range(7)), min_length=1, max_length=7)


class CapIn(BaseModel):
    max_attempts: int = Field(ge=1, le=10_000)
    period_hours: int = Field(ge=1, le=8784)


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    purpose: str = Field(min_length=1, max_length=40)
    channel: Literal["voice", "voice_autodialer", "prerecorded", "sms"] = "voice"
    caller_lines: list[str] = Field(min_length=1, max_length=100)
    window: WindowIn | None = None
    caps: list[CapIn] = Field(default_factory=list, max_length=10)


class CampaignCreated(BaseModel):
    campaign_id: str


class CallerLineRef(BaseModel):
    caller_line_id: str
    number: str


class CampaignOut(BaseModel):
    campaign_id: str
    name: str
    purpose: str
    channel: str
    status: str
    window: dict[str, Any] | None
    caps: list[dict[str, int]]
    caller_lines: list[CallerLineRef]
    created_at: str
    closed_at: str | None


class ClosedOut(BaseModel):
    campaign_id: str
    status: str
    handles_invalidated: int


class HandlesIn(BaseModel):
    contact_ids: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(min_length=1, max_length=MAX_HANDLES)


class HandleOut(BaseModel):
    contact_id: str
    handle: str
    expires_at: str


class ExcludedOut(BaseModel):
    contact_id: str
    reason: str


class HandlesOut(BaseModel):
    campaign_id: str
    handles: list[HandleOut]
    excluded: list[ExcludedOut]


@router.post("", response_model=CampaignCreated, status_code=201)
def new_campaign(
    body: CampaignIn, actor: AdminOrDialer, vault: VaultDep, session: WriteSession, now: Now
) -> CampaignCreated:
    item = CampaignInput(
        name=body.name,
        purpose=body.purpose,
        channel=body.channel,
        caller_lines=body.caller_lines,
        window=body.window.model_dump() if body.window else None,
        caps=[c.model_dump() for c in body.caps],
    )
    return CampaignCreated(campaign_id=create_campaign(session, vault, actor, item, now))


@router.get("/{campaign_id}", response_model=CampaignOut)
def campaign(campaign_id: str, actor: AdminOrDialer, vault: VaultDep) -> dict[str, Any]:
    with vault.database.read() as session:
        return get_campaign(session, actor, campaign_id)


@router.post("/{campaign_id}/close", response_model=ClosedOut)
def close(campaign_id: str, actor: AdminOrDialer, vault: VaultDep, session: WriteSession, now: Now) -> dict[str, Any]:
    return close_campaign(session, vault, actor, campaign_id, now)


@router.post("/{campaign_id}/handles", response_model=HandlesOut)
def handles(
    campaign_id: str, body: HandlesIn, actor: Dialer, vault: VaultDep, session: WriteSession, now: Now
) -> Response:
    issued = issue_handles(session, vault, actor, campaign_id, body.contact_ids, now)
    # Written out as HandlesOut's JSON: validating and serializing 1,000 dicts cost more than issuing the
    # handles. Strings are escaped, except the handles, whose alphabet (url-safe base64) needs no escaping.
    text = encode_basestring
    handle_tail = '","expires_at":' + text(issued.expires_at.isoformat()) + "}"
    handles = ",".join([f'{{"contact_id":{text(c)},"handle":"{h}{handle_tail}' for c, h in issued.handles])
    excluded = ",".join([f'{{"contact_id":{text(c)},"reason":{text(r)}}}' for c, r in issued.excluded])
    content = f'{{"campaign_id":{text(campaign_id)},"handles":[{handles}],"excluded":[{excluded}]}}'
    return Response(content, media_type="application/json")
