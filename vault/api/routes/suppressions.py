"""The internal do-not-call list: add (capture, privacy), remove (privacy only, with a reason)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from ...services import Actor, Role
from ...services.consent import add_suppression, remove_suppression
from .._deps import Now, VaultDep, WriteSession, require_roles
from .._routing import TextRoute

__all__ = ["router"]

router = APIRouter(prefix="/v1/suppressions", tags=["suppressions"], route_class=TextRoute)
CaptureOrPrivacy = Annotated[Actor, require_roles(Role.CAPTURE, Role.PRIVACY)]
Privacy = Annotated[Actor, require_roles(Role.PRIVACY)]


class SuppressionIn(BaseModel):
    phone: str = Field(max_length=64)
    region: str | None = Field(default=None, min_length=2, max_length=2)
    reason: str = Field(min_length=1, max_length=40)
    source: str = Field(default="api", min_length=1, max_length=40)


class SuppressionOut(BaseModel):
    suppression_id: str
    created: bool


class RemovalIn(BaseModel):
    phone: str = Field(max_length=64)
    region: str | None = Field(default=None, min_length=2, max_length=2)
    reason: str = Field(min_length=1, max_length=40)


class RemovalOut(BaseModel):
    suppression_id: str
    removed: bool


@router.post("", response_model=SuppressionOut, status_code=201)
def suppress(
    body: SuppressionIn, actor: CaptureOrPrivacy, vault: VaultDep, session: WriteSession, now: Now, response: Response
) -> SuppressionOut:
    result = add_suppression(session, vault, actor, body.phone, body.region, body.reason, now, source=body.source)
    if not result.created:
        response.status_code = 200
    return SuppressionOut(suppression_id=result.suppression_id, created=result.created)


@router.post("/remove", response_model=RemovalOut)
def unsuppress(body: RemovalIn, actor: Privacy, vault: VaultDep, session: WriteSession, now: Now) -> RemovalOut:
    suppression_id = remove_suppression(session, vault, actor, body.phone, body.region, body.reason, now)
    return RemovalOut(suppression_id=suppression_id, removed=True)
