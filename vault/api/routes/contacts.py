from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from ...services import Actor, Role
from ...services.contacts import BatchItemError, register_contact, register_contacts
from .._deps import Now, VaultDep, WriteSession, require_roles

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["contacts"])
Capture = Annotated[Actor, require_roles(Role.CAPTURE)]


class ContactIn(BaseModel):
    phone: str = Field(max_length=64)
    region: str | None = Field(default=None, min_length=2, max_length=2)


class ContactOut(BaseModel):
    contact_id: str
    created: bool


class ContactBatchIn(BaseModel):
    contacts: list[ContactIn] = Field(min_length=1, max_length=10_000)


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


@router.post("/contacts", response_model=ContactOut, status_code=201)
def create_contact(
    body: ContactIn, actor: Capture, vault: VaultDep, session: WriteSession, now: Now, response: Response
) -> ContactOut:
    result = register_contact(session, vault, actor, body.phone, body.region, now)
    if not result.created:
        response.status_code = 200
    return ContactOut(contact_id=result.contact_id, created=result.created)


@router.post("/contacts/batch", response_model=ContactBatchOut)
def create_contacts(
    body: ContactBatchIn, actor: Capture, vault: VaultDep, session: WriteSession, now: Now
) -> ContactBatchOut:
    results = register_contacts(session, vault, actor, [(c.phone, c.region) for c in body.contacts], now)
    items: list[ContactBatchItemOut] = []
    for index, result in enumerate(results):
        if isinstance(result, BatchItemError):
            items.append(
                ContactBatchItemOut(
                    index=index,
                    error={
                        "code": result.code,
                        "message": result.message,
                        "field": f"contacts.{index}.phone",
                    },
                )
            )
        else:
            items.append(ContactBatchItemOut(index=index, contact_id=result.contact_id, created=result.created))
    created = sum(1 for i in items if i.created)
    rejected = sum(1 for i in items if i.error)
    return ContactBatchOut(results=items, created=created, existing=len(items) - created - rejected, rejected=rejected)
