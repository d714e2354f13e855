"""Dialing: the gateway's authorize (handle → number), the dialer's check, call outcomes, handle revocation."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.types import Scope

from ...services import Actor, Role, Vault
from ...services.dialing import DialAnswer, authorize_all, caller_line_number, check, record_outcome, revoke_handle
from ...storage import Tx
from .._deps import Now, VaultDep, WriteSession, in_read_tx, in_write_together, require_roles, scope_actor, vault_of
from .._hot import HotAnswer, HotHandler, json_answer, json_object_of
from .._routing import TextRoute

__all__ = ["hot_routes", "router"]

router = APIRouter(prefix="/v1", tags=["dialing"], route_class=TextRoute)
_GATEWAY_ROLES = frozenset({Role.GATEWAY})
_HANDLE_MAX, _CALLER_LINE_MAX = 200, 64
Gateway = Annotated[Actor, require_roles(*_GATEWAY_ROLES)]
Dialer = Annotated[Actor, require_roles(Role.DIALER)]
DialerOrAdmin = Annotated[Actor, require_roles(Role.DIALER, Role.ADMIN)]
GatewayOrDialer = Annotated[Actor, require_roles(Role.GATEWAY, Role.DIALER)]
Handle = Annotated[str, Field(min_length=1, max_length=_HANDLE_MAX)]
Outcome = Literal["answered", "no_answer", "busy", "failed", "opted_out", "complaint"]


class AuthorizeIn(BaseModel):
    handle: Handle
    caller_line: str = Field(min_length=1, max_length=_CALLER_LINE_MAX)


class CheckIn(BaseModel):
    handle: Handle
    caller_line: str | None = Field(default=None, min_length=1, max_length=_CALLER_LINE_MAX)


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


def _decision(answer: DialAnswer) -> dict[str, Any]:
    if answer.decision == "allow":
        return {"decision": "allow", "destination": answer.destination, "attempt_id": answer.attempt_id}
    return {"decision": "deny", "reason": answer.reason}


async def _authorize(app: Any, actor: Actor, handle: str, caller_line: str) -> DialAnswer:
    # The unit of work commits before the answer leaves: an allow is never sent for an attempt or a
    # reveal audit entry that was not stored. A batch's authorizations are decided in one call.
    vault: Vault = app.state.vault
    caller_line_number(caller_line)  # a bad one is refused here, before it could fail its batch

    def decide_all(tx: Tx, requests: list[tuple[Actor, tuple[str, str]]]) -> list[DialAnswer]:
        return authorize_all(tx, vault, requests, vault.clock.now())

    return await in_write_together(app, actor, authorize_all, (handle, caller_line), decide_all)


@router.post("/dial/authorize", response_model=DecisionOut, response_model_exclude_none=True)
async def dial_authorize(request: Request, body: AuthorizeIn, actor: Gateway) -> JSONResponse:
    """The gateway redeems a handle. (Well-formed requests are answered by `_hot_authorize`.)"""
    return JSONResponse(_decision(await _authorize(request.app, actor, body.handle, body.caller_line)))


def _short_text(value: Any, longest: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= longest


async def _hot_authorize(scope: Scope, body: bytes) -> HotAnswer | None:
    fields = json_object_of(scope, body)
    if (
        fields is None
        or fields.keys() != {"handle", "caller_line"}
        or not _short_text(fields["handle"], _HANDLE_MAX)
        or not _short_text(fields["caller_line"], _CALLER_LINE_MAX)
    ):
        return None  # AuthorizeIn decides, with its error envelope
    app = scope["app"]
    actor = await scope_actor(scope, _GATEWAY_ROLES)
    return json_answer(200, _decision(await _authorize(app, actor, fields["handle"], fields["caller_line"])))


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


hot_routes: dict[tuple[str, str], HotHandler] = {("POST", "/v1/dial/authorize"): _hot_authorize}
