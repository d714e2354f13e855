"""Dialing: the gateway's authorize (handle → number), the dialer's check, call outcomes, handle revocation."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ...services import Actor, Role
from ...services.dialing import authorize, check, record_outcome, revoke_handle
from .._deps import Now, VaultDep, WriteSession, in_read_tx, in_write_tx, require_roles, vault_of

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["dialing"])
Gateway = Annotated[Actor, require_roles(Role.GATEWAY)]
Dialer = Annotated[Actor, require_roles(Role.DIALER)]
DialerOrAdmin = Annotated[Actor, require_roles(Role.DIALER, Role.ADMIN)]
GatewayOrDialer = Annotated[Actor, require_roles(Role.GATEWAY, Role.DIALER)]
Handle = Annotated[str, Field(min_length=1, max_length=200)]
Outcome = Literal["answered", "no_answer", "busy", "failed", "opted_out", "complaint"]


class AuthorizeIn(BaseModel):
    handle: Handle
    caller_line: str = Field(min_length=1, max_length=64)


class CheckIn(BaseModel):
    handle: Handle
    caller_line: str | None = Field(default=None, min_length=1, max_length=64)


class DecisionOut(BaseModel):
    decision: Literal["allow", "deny"]
    reason: str | None = None
    destination: str | None = Field(default=None, description="E.164; only on allow, only to the gateway")
    attempt_id: str | None = None


class CheckOut(BaseModel):
    decision: Literal["allow", "deny"]
    reason: str | None = None


class OutcomeIn(BaseModel):
    attempt_id: str = Field(min_length=1, max_length=40)
    outcome: Outcome


class OutcomeOut(BaseModel):
    attempt_id: str
    outcome: str
    withdrawn: int | None = None
    suppressed: bool | None = None
    complaint_id: str | None = None
    complaint_due_at: str | None = None


class RevokeIn(BaseModel):
    handle: Handle


class RevokeOut(BaseModel):
    revoked: bool


@router.post("/dial/authorize", response_model=DecisionOut, response_model_exclude_none=True)
async def dial_authorize(request: Request, body: AuthorizeIn, actor: Gateway) -> JSONResponse:
    # The gateway's hot path: no dependencies beyond the key check (each costs more to solve than it does).
    # The unit of work commits before the answer leaves: an allow is never sent for an attempt or a
    # reveal audit entry that was not stored.
    vault = vault_of(request)
    now = vault.clock.now()
    answer = await in_write_tx(request, lambda tx: authorize(tx, vault, actor, body.handle, body.caller_line, now))
    if answer.decision == "allow":
        return JSONResponse({"decision": "allow", "destination": answer.destination, "attempt_id": answer.attempt_id})
    return JSONResponse({"decision": "deny", "reason": answer.reason})


@router.post("/dial/check", response_model=CheckOut, response_model_exclude_none=True)
async def dial_check(request: Request, body: CheckIn, actor: Dialer) -> dict[str, Any]:
    vault = vault_of(request)
    now = vault.clock.now()
    answer = await in_read_tx(vault, lambda tx: check(tx, vault, actor, body.handle, body.caller_line, now))
    return {"decision": answer.decision, "reason": answer.reason}


@router.post("/dial/outcome", response_model=OutcomeOut, response_model_exclude_none=True)
def dial_outcome(body: OutcomeIn, actor: GatewayOrDialer, vault: VaultDep, now: Now) -> dict[str, Any]:
    with vault.database.write() as session:
        return record_outcome(session, vault, actor, body.attempt_id, body.outcome, now)


@router.post("/handles/revoke", response_model=RevokeOut)
def handles_revoke(
    body: RevokeIn, actor: DialerOrAdmin, vault: VaultDep, session: WriteSession, now: Now
) -> dict[str, Any]:
    return revoke_handle(session, vault, actor, body.handle, now)
