"""Data-subject requests (privacy role): lifecycle, execution, access packages."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from ...services import Actor, Role
from ...services.requests import (
    access_package,
    cancel_request,
    checkpoint_store,
    create_request,
    deny_request,
    execute_request,
    extend_request,
    get_request,
    list_requests,
    verify_identity,
)
from .._deps import Now, VaultDep, WriteSession, require_roles
from .._routing import TextRoute

__all__ = ["router"]

router = APIRouter(prefix="/v1/requests", tags=["requests"], route_class=TextRoute)
Privacy = Annotated[Actor, require_roles(Role.PRIVACY)]


class RequestIn(BaseModel):
    type: Literal["access", "erasure", "rectification", "withdraw_all"]
    phone: str = Field(max_length=64)
    region: str | None = Field(default=None, min_length=2, max_length=2)
    jurisdiction: str | None = Field(default=None, min_length=2, max_length=10)
    new_phone: str | None = Field(default=None, max_length=64)
    new_region: str | None = Field(default=None, min_length=2, max_length=2)


class RequestCreated(BaseModel):
    request_id: str
    status: str
    due_at: datetime


class VerifyIn(BaseModel):
    method: str = Field(min_length=1, max_length=40)
    reference: str = Field(min_length=1, max_length=500)


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class HistoryItem(BaseModel):
    from_status: str | None
    to_status: str
    at: datetime
    actor: str
    note: str | None


class RequestOut(BaseModel):
    request_id: str
    type: str
    status: str
    contact_id: str | None
    jurisdictions: list[str]
    received_at: datetime
    due_at: datetime
    overdue: bool
    verified_at: datetime | None
    verification_method: str | None
    completed_at: datetime | None
    result: dict[str, Any] | None
    history: list[HistoryItem] = []


class ExecutedOut(BaseModel):
    request_id: str
    status: str
    result: dict[str, Any]


@router.post("", response_model=RequestCreated, status_code=201)
def create(body: RequestIn, actor: Privacy, vault: VaultDep, session: WriteSession, now: Now) -> RequestCreated:
    created = create_request(
        session, vault, actor, type=body.type, phone=body.phone, region=body.region,
        jurisdiction=body.jurisdiction, new_phone=body.new_phone, new_region=body.new_region, now=now,
    )  # fmt: skip
    return RequestCreated(request_id=created["request_id"], status=created["status"], due_at=created["due_at"])


@router.get("", response_model=list[RequestOut])
def index(
    actor: Privacy,
    vault: VaultDep,
    now: Now,
    overdue: Annotated[bool | None, Query()] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> list[dict[str, Any]]:
    with vault.database.read() as session:
        return list_requests(session, actor, now, overdue=overdue, status=status)


@router.get("/{request_id}", response_model=RequestOut)
def show(request_id: str, actor: Privacy, vault: VaultDep, now: Now) -> dict[str, Any]:
    with vault.database.read() as session:
        return get_request(session, actor, request_id, now)


@router.post("/{request_id}/verify", response_model=RequestOut)
def verify(
    request_id: str, body: VerifyIn, actor: Privacy, vault: VaultDep, session: WriteSession, now: Now
) -> dict[str, Any]:
    return verify_identity(session, vault, actor, request_id, body.method, body.reference, now)


@router.post("/{request_id}/execute", response_model=ExecutedOut)
def execute(request_id: str, actor: Privacy, vault: VaultDep, now: Now) -> dict[str, Any]:
    # Its own unit of work, so that after an erasure commits the WAL can be checkpointed away.
    with vault.database.write() as session:
        outcome = execute_request(session, vault, actor, request_id, now)
    if outcome["result"].get("erased") or outcome["result"].get("rectified"):
        checkpoint_store(vault.database)
    return outcome


@router.post("/{request_id}/deny", response_model=RequestOut)
def deny(
    request_id: str, body: ReasonIn, actor: Privacy, vault: VaultDep, session: WriteSession, now: Now
) -> dict[str, Any]:
    return deny_request(session, vault, actor, request_id, body.reason, now)


@router.post("/{request_id}/extend", response_model=RequestOut)
def extend(
    request_id: str, body: ReasonIn, actor: Privacy, vault: VaultDep, session: WriteSession, now: Now
) -> dict[str, Any]:
    return extend_request(session, vault, actor, request_id, body.reason, now)


@router.post("/{request_id}/cancel", response_model=RequestOut)
def cancel(request_id: str, actor: Privacy, vault: VaultDep, session: WriteSession, now: Now) -> dict[str, Any]:
    return cancel_request(session, vault, actor, request_id, now)


@router.get("/{request_id}/package")
def package(request_id: str, actor: Privacy, vault: VaultDep, now: Now) -> Response:
    # The reveal's audit entry commits before a byte of the package leaves.
    with vault.database.write() as session:
        content = access_package(session, vault, actor, request_id, now)
    return Response(
        content=json.dumps(content, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{request_id}.json"',
            "Cache-Control": "no-store",
        },
    )
