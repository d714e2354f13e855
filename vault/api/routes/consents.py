"""Notices, consent capture (one or batch), withdrawal, consent history, receipts and the JWKS."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, NotRequired

from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlmodel import Session
from typing_extensions import TypedDict

from ...services import Actor, Role
from ...services.consent import (
    CapturedConsent,
    ConsentInput,
    DuplicateItem,
    NoticeClaim,
    capture_consent,
    capture_consents,
    consent_history,
    get_receipt,
    published_jwks,
    recall_response,
    register_notice,
    remember_response,
    request_digest,
    resolve_subject,
    withdraw_consents,
)
from ...services.contacts import BatchItemError
from .._deps import Now, VaultDep, WriteSession, require_roles
from .._routing import TextRoute
from .._written import require_plain_ids

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["consents"], route_class=TextRoute)
AdminOrCapture = Annotated[Actor, require_roles(Role.ADMIN, Role.CAPTURE)]
Capture = Annotated[Actor, require_roles(Role.CAPTURE)]
CaptureOrPrivacy = Annotated[Actor, require_roles(Role.CAPTURE, Role.PRIVACY)]
Withdrawer = Annotated[Actor, require_roles(Role.CAPTURE, Role.PRIVACY, Role.DIALER)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]

MAX_BATCH = 5000


class NoticeIn(BaseModel):
    id: str = Field(min_length=1, max_length=120)
    version: str = Field(min_length=1, max_length=40)
    text: str = Field(min_length=1, max_length=200_000)
    language: str | None = Field(default=None, max_length=20)
    policy_url: str | None = Field(default=None, max_length=500)


class NoticeOut(BaseModel):
    id: str
    version: str
    sha256: str
    created: bool


class NoticeClaimIn(BaseModel):
    id: str = Field(min_length=1, max_length=120)
    version: str = Field(min_length=1, max_length=40)
    text: str | None = Field(default=None, min_length=1, max_length=200_000)


class ConsentIn(BaseModel):
    phone: str | None = Field(default=None, max_length=64)
    contact_id: str | None = Field(default=None, max_length=40)
    region: str | None = Field(default=None, min_length=2, max_length=2)
    purpose: str = Field(min_length=1, max_length=40)
    channels: list[str] = Field(min_length=1, max_length=10)
    notice: NoticeClaimIn
    method: str = Field(min_length=1, max_length=40)
    jurisdiction: str | None = Field(default=None, max_length=20)
    language: str | None = Field(default=None, max_length=20)
    evidence: dict[str, Any] | None = None
    expires_at: datetime | None = None

    def to_input(self, notices: dict[tuple[str, str, str | None], NoticeClaim]) -> ConsentInput:
        """The service's input; the items of a batch naming the same notice share one claim (in `notices`)."""
        key = (self.notice.id, self.notice.version, self.notice.text)
        notice = notices.get(key)
        if notice is None:
            notice = notices[key] = NoticeClaim(*key)
        return ConsentInput(
            purpose=self.purpose,
            channels=self.channels,
            notice=notice,
            method=self.method,
            phone=self.phone,
            contact_id=self.contact_id,
            region=self.region,
            jurisdiction=self.jurisdiction,
            language=self.language,
            evidence=self.evidence,
            expires_at=self.expires_at,
        )


class ConsentOut(BaseModel):
    consent_id: str
    contact_id: str
    receipt_id: str
    status: str
    event: str


class NoticeClaimItem(TypedDict):
    id: Annotated[str, Field(min_length=1, max_length=120)]
    version: Annotated[str, Field(min_length=1, max_length=40)]
    text: NotRequired[Annotated[str | None, Field(min_length=1, max_length=200_000)]]


class ConsentItem(TypedDict):
    """ConsentIn as a typed dict: validating a thousand of these costs a fraction of building models."""

    phone: NotRequired[Annotated[str | None, Field(max_length=64)]]
    contact_id: NotRequired[Annotated[str | None, Field(max_length=40)]]
    region: NotRequired[Annotated[str | None, Field(min_length=2, max_length=2)]]
    purpose: Annotated[str, Field(min_length=1, max_length=40)]
    channels: Annotated[list[str], Field(min_length=1, max_length=10)]
    notice: NoticeClaimItem
    method: Annotated[str, Field(min_length=1, max_length=40)]
    jurisdiction: NotRequired[Annotated[str | None, Field(max_length=20)]]
    language: NotRequired[Annotated[str | None, Field(max_length=20)]]
    evidence: NotRequired[dict[str, Any] | None]
    expires_at: NotRequired[datetime | None]


class ConsentBatchIn(BaseModel):
    items: list[ConsentItem] = Field(min_length=1, max_length=MAX_BATCH)


class ConsentBatchItemOut(BaseModel):
    index: int
    consent_id: str | None = None
    contact_id: str | None = None
    receipt_id: str | None = None
    status: str | None = None
    error: dict[str, str] | None = None


class ConsentBatchOut(BaseModel):
    results: list[ConsentBatchItemOut]
    granted: int
    rejected: int


class WithdrawIn(BaseModel):
    phone: str | None = Field(default=None, max_length=64)
    contact_id: str | None = Field(default=None, max_length=40)
    handle: str | None = Field(default=None, max_length=200)
    region: str | None = Field(default=None, min_length=2, max_length=2)
    purpose: str | None = Field(default=None, max_length=40)
    method: str = Field(default="api", max_length=40)


class WithdrawOut(BaseModel):
    withdrawn: int
    receipt_ids: list[str]


def _idempotent(
    session: Session,
    actor: Actor,
    key: str | None,
    route: str,
    body: BaseModel,
    now: datetime,
    run: Callable[[], tuple[int, dict[str, Any]]],
) -> JSONResponse:
    """Run once per Idempotency-Key: a retry replays the stored answer without writing anything."""
    if key is None:
        status, content = run()
        return JSONResponse(content, status_code=status)
    digest = request_digest(route, body.model_dump(mode="json"))
    stored = recall_response(session, actor.tenant_id, key, digest)
    if stored is not None:
        return JSONResponse(stored.body, status_code=stored.status, headers={"Idempotent-Replayed": "true"})
    status, content = run()
    remember_response(session, actor.tenant_id, key, digest, status, content, now)
    return JSONResponse(content, status_code=status)


@router.post("/notices", response_model=NoticeOut, status_code=201)
def create_notice(
    body: NoticeIn, actor: AdminOrCapture, vault: VaultDep, session: WriteSession, now: Now, response: Response
) -> NoticeOut:
    result = register_notice(
        session, vault, actor, body.id, body.version, body.text, now, language=body.language, policy_url=body.policy_url
    )
    if not result.created:
        response.status_code = 200
    n = result.notice
    return NoticeOut(id=n.id, version=n.version, sha256=n.sha256, created=result.created)


@router.post("/consents", response_model=ConsentOut, status_code=201)
def create_consent(
    body: ConsentIn,
    actor: Capture,
    vault: VaultDep,
    session: WriteSession,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    def run() -> tuple[int, dict[str, Any]]:
        r = capture_consent(session, vault, actor, body.to_input({}), now)
        out = ConsentOut(
            consent_id=r.consent_id,
            contact_id=r.contact_id,
            receipt_id=r.receipt_id,
            status=r.status,
            event=r.event_type,
        )
        return 201, out.model_dump()

    return _idempotent(session, actor, idempotency_key, "consents", body, now, run)


def _item_input(item: ConsentItem, notices: dict[tuple[str, str, str | None], NoticeClaim]) -> ConsentInput:
    """The service's input for a batch item; the items naming the same notice share one claim (in `notices`)."""
    claim = item["notice"]
    key = (claim["id"], claim["version"], claim.get("text"))
    notice = notices.get(key)
    if notice is None:
        notice = notices[key] = NoticeClaim(*key)
    return ConsentInput(
        item["purpose"], item["channels"], notice, item["method"], item.get("phone"), item.get("contact_id"),
        item.get("region"), item.get("jurisdiction"), item.get("language"), item.get("evidence"),
        item.get("expires_at"),
    )  # fmt: skip


def _batch_json(results: Sequence[CapturedConsent | DuplicateItem | BatchItemError]) -> bytes:
    """The ConsentBatchOut document, written directly: a model per item costs more than its JSON."""
    items: list[str] = []
    granted = 0
    for index, r in enumerate(results):
        if isinstance(r, CapturedConsent):
            granted += 1
            items.append(
                f'{{"index":{index},"consent_id":"{r.consent_id}","contact_id":"{r.contact_id}",'
                f'"receipt_id":"{r.receipt_id}","status":"{r.status}"}}'
            )
        elif isinstance(r, DuplicateItem):  # pragma: no cover - only imported rows are skipped as recorded
            items.append(f'{{"index":{index},"status":"duplicate"}}')
        else:
            field = f"items.{index}.{r.field}" if r.field else f"items.{index}"
            error = json.dumps({"code": r.code, "message": r.message, "field": field}, ensure_ascii=False)
            items.append(f'{{"index":{index},"error":{error}}}')
    require_plain_ids(
        "".join(
            f"{r.consent_id}{r.contact_id}{r.receipt_id}{r.status}" for r in results if isinstance(r, CapturedConsent)
        )
    )
    return f'{{"results":[{",".join(items)}],"granted":{granted},"rejected":{len(items) - granted}}}'.encode()


@router.post("/consents/batch", response_model=ConsentBatchOut)
def create_consents(
    body: ConsentBatchIn,
    actor: Capture,
    vault: VaultDep,
    session: WriteSession,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def run() -> tuple[int, bytes]:
        notices: dict[tuple[str, str, str | None], NoticeClaim] = {}
        inputs = [_item_input(item, notices) for item in body.items]
        return 200, _batch_json(capture_consents(session, vault, actor, inputs, now))

    if idempotency_key is None:
        return Response(run()[1], media_type="application/json")

    def answer() -> tuple[int, dict[str, Any]]:
        status, content = run()
        return status, json.loads(content)

    return _idempotent(session, actor, idempotency_key, "consents/batch", body, now, answer)


@router.post("/consents/withdraw", response_model=WithdrawOut)
def withdraw(body: WithdrawIn, actor: Withdrawer, vault: VaultDep, session: WriteSession, now: Now) -> WithdrawOut:
    subject = resolve_subject(
        session, vault, actor, phone=body.phone, region=body.region, contact_id=body.contact_id, handle=body.handle
    )
    if subject.contact_id is None:
        return WithdrawOut(withdrawn=0, receipt_ids=[])
    result = withdraw_consents(session, vault, actor, subject.contact_id, body.purpose, now, method=body.method)
    return WithdrawOut(withdrawn=result.withdrawn, receipt_ids=result.receipt_ids)


@router.get("/contacts/{contact_id}/consents")
def contact_consents(contact_id: str, actor: CaptureOrPrivacy, vault: VaultDep, now: Now) -> dict[str, Any]:
    with vault.database.read() as session:
        return consent_history(session, actor, contact_id, now)


@router.get("/receipts/{receipt_id}")
def receipt(receipt_id: str, actor: CaptureOrPrivacy, vault: VaultDep) -> dict[str, Any]:
    with vault.database.read() as session:
        return get_receipt(session, vault, actor, receipt_id)


@router.get("/.well-known/jwks.json")
def jwks(vault: VaultDep) -> dict[str, Any]:
    with vault.database.read() as session:
        return published_jwks(session, vault)
