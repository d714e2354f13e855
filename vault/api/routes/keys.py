from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ...services import Actor, Role
from ...services.tenants import issue_api_key, revoke_api_key
from .._deps import Now, VaultDep, WriteSession, require_roles
from .._routing import TextRoute

__all__ = ["router"]

router = APIRouter(prefix="/v1/keys", tags=["keys"], route_class=TextRoute)
Admin = Annotated[Actor, require_roles(Role.ADMIN)]


class KeyIn(BaseModel):
    role: Role
    label: str | None = Field(default=None, max_length=200)


class KeyOut(BaseModel):
    key_id: str
    key: str
    role: Role


@router.post("", response_model=KeyOut, status_code=201)
def create_key(body: KeyIn, actor: Admin, vault: VaultDep, session: WriteSession, now: Now) -> KeyOut:
    issued = issue_api_key(session, vault, actor.tenant_id, body.role, now, actor=actor, label=body.label)
    return KeyOut(key_id=issued.key_id, key=issued.secret, role=issued.role)


@router.delete("/{key_id}", status_code=204)
def delete_key(key_id: str, actor: Admin, vault: VaultDep, session: WriteSession, now: Now) -> None:
    revoke_api_key(session, vault, actor, key_id, now)
