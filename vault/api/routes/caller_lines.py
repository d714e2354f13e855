"""Tenant set-up for dialing (admin): caller lines with their whitelist status, licences, policy overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ...clock import utc
from ...services import Actor, Role
from ...services.dialing import (
    LicenceInput,
    add_caller_line,
    add_licence,
    dial_rules,
    get_tenant_policy,
    list_caller_lines,
    list_licences,
    set_tenant_policy,
    update_caller_line,
)
from .._deps import Now, VaultDep, WriteSession, require_roles
from .._routing import TextRoute

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["caller lines and licences"], route_class=TextRoute)
Admin = Annotated[Actor, require_roles(Role.ADMIN)]
WhitelistStatus = Literal["approved", "pending", "revoked"]
ExpiringWithin = Annotated[int | None, Query(ge=0, le=3650)]


class CallerLineIn(BaseModel):
    number: str = Field(max_length=64)
    region: str | None = Field(default=None, min_length=2, max_length=2)
    carrier: str | None = Field(default=None, max_length=120)
    whitelist_status: WhitelistStatus
    whitelisted_until: datetime | None = None


class CallerLineCreated(BaseModel):
    caller_line_id: str


class CallerLinePatch(BaseModel):
    whitelist_status: WhitelistStatus | None = None
    whitelisted_until: datetime | None = None
    carrier: str | None = Field(default=None, max_length=120)


class CallerLineOut(BaseModel):
    caller_line_id: str
    number: str
    carrier: str | None
    whitelist_status: str
    whitelisted_until: str | None
    expired: bool
    expiring_soon: bool
    usable: bool


class CallerLinesOut(BaseModel):
    caller_lines: list[CallerLineOut]


class LicenceIn(BaseModel):
    kind: str = Field(min_length=1, max_length=60, pattern=r"^[a-z][a-z0-9_]*$")
    number: str = Field(min_length=1, max_length=120)
    purposes: list[str] = Field(min_length=1, max_length=50)
    valid_from: datetime
    valid_until: datetime | None = None


class LicenceCreated(BaseModel):
    licence_id: str


class LicenceOut(BaseModel):
    licence_id: str
    kind: str
    number: str
    purposes: list[str]
    valid_from: str
    valid_until: str | None
    valid_now: bool
    expiring_soon: bool


class LicencesOut(BaseModel):
    licences: list[LicenceOut]


class PolicyOut(BaseModel):
    fingerprint: str
    licences_enforced: bool


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


@router.post("/caller-lines", response_model=CallerLineCreated, status_code=201)
def create_caller_line(
    body: CallerLineIn, actor: Admin, vault: VaultDep, session: WriteSession, now: Now
) -> CallerLineCreated:
    line_id = add_caller_line(
        session, vault, actor, number=body.number, region=body.region, carrier=body.carrier,
        whitelist_status=body.whitelist_status, whitelisted_until=_utc(body.whitelisted_until), now=now,
    )  # fmt: skip
    return CallerLineCreated(caller_line_id=line_id)


@router.patch("/caller-lines/{caller_line_id}", response_model=CallerLineOut)
def change_caller_line(
    caller_line_id: str, body: CallerLinePatch, actor: Admin, vault: VaultDep, session: WriteSession, now: Now
) -> dict[str, Any]:
    changes: dict[str, Any] = {k: getattr(body, k) for k in body.model_fields_set if k != "whitelist_status"}
    if "whitelisted_until" in changes:
        changes["whitelisted_until"] = _utc(changes["whitelisted_until"])
    return update_caller_line(
        session, vault, actor, caller_line_id, now=now, whitelist_status=body.whitelist_status, **changes
    )


@router.get("/caller-lines", response_model=CallerLinesOut)
def caller_lines(
    actor: Admin, vault: VaultDep, now: Now, expiring_within_days: ExpiringWithin = None
) -> dict[str, Any]:
    with vault.database.read() as session:
        return {"caller_lines": list_caller_lines(session, actor, now, expiring_within_days)}


@router.post("/licences", response_model=LicenceCreated, status_code=201)
def create_licence(body: LicenceIn, actor: Admin, vault: VaultDep, session: WriteSession, now: Now) -> LicenceCreated:
    known = dial_rules(session, vault, actor.tenant_id).purpose_names()
    item = LicenceInput(body.kind, body.number, body.purposes, utc(body.valid_from), _utc(body.valid_until))
    return LicenceCreated(licence_id=add_licence(session, vault, actor, item, known, now))


@router.get("/licences", response_model=LicencesOut)
def licences(actor: Admin, vault: VaultDep, now: Now, expiring_within_days: ExpiringWithin = None) -> dict[str, Any]:
    with vault.database.read() as session:
        return {"licences": list_licences(session, actor, now, expiring_within_days)}


@router.get("/tenant/policy")
def tenant_policy(actor: Admin, vault: VaultDep) -> dict[str, Any]:
    with vault.database.read() as session:
        return get_tenant_policy(session, vault, actor)


@router.put("/tenant/policy", response_model=PolicyOut)
def put_tenant_policy(
    body: dict[str, Any], actor: Admin, vault: VaultDep, session: WriteSession, now: Now
) -> dict[str, Any]:
    return set_tenant_policy(session, vault, actor, body, now)
