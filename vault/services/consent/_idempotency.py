"""Idempotency-Key support: the first answer is stored and replayed on retries."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from ...errors import Conflict, InvalidInput
from ...storage import tables as t

__all__ = ["StoredResponse", "recall_response", "remember_response", "request_digest"]

MAX_KEY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: dict[str, Any]


def request_digest(route: str, body: Any) -> str:
    canonical = json.dumps([route, body], separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput("the Idempotency-Key header is malformed", code="invalid_idempotency_key", field="header")


def recall_response(session: Session, tenant_id: str, key: str, digest: str) -> StoredResponse | None:
    """The stored answer for this key, or None; the same key with another request is a conflict."""
    _check_key(key)
    row = session.execute(
        select(t.idempotency_records.c.request_sha256, t.idempotency_records.c.response).where(
            t.idempotency_records.c.tenant_id == tenant_id, t.idempotency_records.c.key == key
        )
    ).one_or_none()
    if row is None:
        return None
    if row.request_sha256 != digest:
        raise Conflict("this Idempotency-Key was used for another request", code="idempotency_key_reused")
    stored: dict[str, Any] = row.response
    return StoredResponse(int(stored["status"]), dict(stored["body"]))


def remember_response(
    session: Session, tenant_id: str, key: str, digest: str, status: int, body: dict[str, Any], now: datetime
) -> None:
    session.execute(
        t.idempotency_records.insert().values(
            tenant_id=tenant_id,
            key=key,
            request_sha256=digest,
            response={"status": status, "body": body},
            created_at=now,
        )
    )
