from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any, NotRequired

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.types import Scope
from typing_extensions import TypedDict

from ...services import Actor, Role, Vault
from ...services.contacts import (
    BatchItemError,
    RegisteredContact,
    normalize_number,
    register_contacts,
    register_numbers,
)
from ...storage import Tx
from .._deps import in_write_together, require_roles, scope_actor, vault_of
from .._hot import HotAnswer, HotHandler, json_answer, json_object_of
from .._routing import TextRoute
from .._written import require_plain_ids

__all__ = ["hot_routes", "router"]

router = APIRouter(prefix="/v1", tags=["contacts"], route_class=TextRoute)
_CAPTURE_ROLES = frozenset({Role.CAPTURE})
_PHONE_MAX = 64
Capture = Annotated[Actor, require_roles(*_CAPTURE_ROLES)]


class ContactIn(BaseModel):
    phone: str = Field(max_length=_PHONE_MAX)
    region: str | None = Field(default=None, min_length=2, max_length=2)


class ContactOut(BaseModel):
    contact_id: str
    created: bool


class ContactItem(TypedDict):
    """ContactIn as a typed dict: validating a thousand of these costs a fraction of building models."""

    phone: Annotated[str, Field(max_length=64)]
    region: NotRequired[Annotated[str | None, Field(min_length=2, max_length=2)]]


class ContactBatchIn(BaseModel):
    contacts: list[ContactItem] = Field(min_length=1, max_length=10_000)


class ContactBatchItemOut(BaseModel):
    index: int
    contact_id: str | None = None
    created: bool | None = None
    error: dict[str, str] | None = None


class ContactBatchOut(BaseModel):
    results: list[ContactBatchItemOut]
    created: int
    existing: int
    rejected: int


@router.post(
    "/contacts",
    response_model=ContactOut,
    status_code=201,
    responses={200: {"model": ContactOut, "description": "The number was already registered"}},
)
async def create_contact(request: Request, body: ContactIn, actor: Capture) -> JSONResponse:
    """Register one number. (Well-formed requests are answered by `_hot_create_contact`.)"""
    status, content = await _register(request.app, actor, body.phone, body.region)
    return JSONResponse(content, status_code=status)


async def _register(app: Any, actor: Actor, phone: str, region: str | None) -> tuple[int, dict[str, Any]]:
    # Runs on the event loop in a group-committed write transaction (like dial authorize): no thread hops.
    # The registrations of a batch run together: one lookup and one insert for all of them.
    vault: Vault = app.state.vault
    e164 = normalize_number(phone, region)

    def register(tx: Tx, requests: list[tuple[Actor, str]]) -> list[RegisteredContact]:
        return register_numbers(tx, vault, requests, vault.clock.now())

    result = await in_write_together(app, actor, register_numbers, e164, register)
    return 201 if result.created else 200, {"contact_id": result.contact_id, "created": result.created}


async def _hot_create_contact(scope: Scope, body: bytes) -> HotAnswer | None:
    fields = json_object_of(scope, body)
    if fields is None or "phone" not in fields or not fields.keys() <= {"phone", "region"}:
        return None  # ContactIn decides, with its error envelope
    phone, region = fields["phone"], fields.get("region")
    if not isinstance(phone, str) or len(phone) > _PHONE_MAX:
        return None
    if region is not None and not (isinstance(region, str) and len(region) == 2):
        return None
    app = scope["app"]
    actor = await scope_actor(scope, _CAPTURE_ROLES)
    return json_answer(*await _register(app, actor, phone, region))


@router.post("/contacts/batch", response_model=ContactBatchOut)
def create_contacts(request: Request, body: ContactBatchIn, actor: Capture) -> Response:
    # A plain `def`: a batch is tens of milliseconds of work, kept off the event loop in one thread hop.
    vault = vault_of(request)
    with vault.database.write() as session:
        results = register_contacts(
            session, vault, actor, [(c["phone"], c.get("region")) for c in body.contacts], vault.clock.now()
        )
    return Response(_batch_json(results), media_type="application/json")


def _batch_json(results: Sequence[RegisteredContact | BatchItemError]) -> bytes:
    """The ContactBatchOut document, written directly: pydantic models per item cost more than the registration."""
    items: list[str] = []
    append = items.append
    ids: list[str] = []
    created = rejected = 0
    for index, r in enumerate(results):
        if isinstance(r, RegisteredContact):
            ids.append(r.contact_id)
            if r.created:
                created += 1
                append(f'{{"index":{index},"contact_id":"{r.contact_id}","created":true,"error":null}}')
            else:
                append(f'{{"index":{index},"contact_id":"{r.contact_id}","created":false,"error":null}}')
        else:
            rejected += 1
            error = json.dumps({"code": r.code, "message": r.message, "field": f"contacts.{index}.phone"})
            append(f'{{"index":{index},"contact_id":null,"created":null,"error":{error}}}')
    require_plain_ids("".join(ids))
    summary = f'"created":{created},"existing":{len(results) - created - rejected},"rejected":{rejected}'
    return f'{{"results":[{",".join(items)}],{summary}}}'.encode()


hot_routes: dict[tuple[str, str], HotHandler] = {("POST", "/v1/contacts"): _hot_create_contact}
