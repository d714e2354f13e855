"""Notices: the exact text a subject saw, registered by id and version and pinned by its sha256."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, select
from sqlmodel import Session

from ...errors import Conflict, InvalidInput
from ...storage import tables as t
from .._context import Actor, Vault
from ..audit import record_event

__all__ = ["NoticeRef", "RegisteredNotice", "notice_sha256", "register_notice", "resolve_notices"]


@dataclass(frozen=True, slots=True)
class NoticeRef:
    row_id: int
    id: str
    version: str
    sha256: str
    policy_url: str | None

    @property
    def facts(self) -> tuple[tuple[str, str], ...]:
        """What a receipt names of the notice, in key order."""
        return (("id", self.id), ("sha256", self.sha256), ("version", self.version))


@dataclass(frozen=True, slots=True)
class RegisteredNotice:
    notice: NoticeRef
    created: bool


def notice_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _lookup(session: Session, tenant_id: str, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], NoticeRef]:
    wanted = set(keys)
    if not wanted:
        return {}
    ids = sorted({k[0] for k in wanted})
    rows = session.execute(
        select(
            t.notices.c.id, t.notices.c.notice_id, t.notices.c.version, t.notices.c.sha256, t.notices.c.policy_url
        ).where(t.notices.c.tenant_id == tenant_id, t.notices.c.notice_id.in_(ids))
    )
    return {(r[1], r[2]): NoticeRef(r[0], r[1], r[2], r[3], r[4]) for r in rows if (r[1], r[2]) in wanted}


def _insert(
    session: Session,
    tenant_id: str,
    notice_id: str,
    version: str,
    text: str,
    language: str | None,
    policy_url: str | None,
    now: datetime,
) -> NoticeRef:
    digest = notice_sha256(text)
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        t.notices.insert().values(
            tenant_id=tenant_id,
            notice_id=notice_id,
            version=version,
            sha256=digest,
            text=text,
            language=language,
            policy_url=policy_url,
            created_at=now,
        )
    )
    (row_id,) = result.inserted_primary_key or (0,)
    return NoticeRef(int(row_id), notice_id, version, digest, policy_url)


def register_notice(
    session: Session,
    vault: Vault,
    actor: Actor,
    notice_id: str,
    version: str,
    text: str,
    now: datetime,
    *,
    language: str | None = None,
    policy_url: str | None = None,
) -> RegisteredNotice:
    """Register a notice version; the same text again is a no-op, other text for it is a conflict."""
    existing = _lookup(session, actor.tenant_id, [(notice_id, version)]).get((notice_id, version))
    if existing is not None:
        if existing.sha256 != notice_sha256(text):
            raise Conflict("this notice version is registered with other text", code="notice_version_conflict")
        return RegisteredNotice(existing, created=False)
    ref = _register_new(session, vault, actor, notice_id, version, text, language, policy_url, now)
    return RegisteredNotice(ref, created=True)


def _register_new(
    session: Session,
    vault: Vault,
    actor: Actor,
    notice_id: str,
    version: str,
    text: str,
    language: str | None,
    policy_url: str | None,
    now: datetime,
    *,
    on_capture: bool = False,
) -> NoticeRef:
    ref = _insert(session, actor.tenant_id, notice_id, version, text, language, policy_url, now)
    record_event(
        session, vault.keyrings.get(session, actor.tenant_id), actor, "notice.registered", now,
        target_type="notice", target_id=str(ref.row_id), details={"on_capture": True} if on_capture else None,
    )  # fmt: skip
    return ref


@dataclass(frozen=True, slots=True)
class NoticeClaim:
    """What a consent names: a notice id and version, maybe with the text the subject saw."""

    id: str
    version: str
    text: str | None = None


def resolve_notices(
    session: Session, vault: Vault, actor: Actor, claims: Iterable[NoticeClaim], now: datetime
) -> dict[NoticeClaim, NoticeRef | InvalidInput]:
    """Each claim → its registered notice, registering unknown ones that carry text; errors by claim."""
    claims = list(dict.fromkeys(claims))
    known = _lookup(session, actor.tenant_id, [(c.id, c.version) for c in claims])
    out: dict[NoticeClaim, NoticeRef | InvalidInput] = {}
    for claim in claims:
        key = (claim.id, claim.version)
        ref = known.get(key)
        if ref is None and claim.text is not None:
            ref = _register_new(
                session, vault, actor, claim.id, claim.version, claim.text, None, None, now, on_capture=True
            )
            known[key] = ref
            out[claim] = ref
        elif ref is None:
            out[claim] = InvalidInput("the notice is not registered", code="unknown_notice", field="notice")
        elif claim.text is not None and notice_sha256(claim.text) != ref.sha256:
            out[claim] = InvalidInput(
                "the notice text differs from the registered version", code="notice_mismatch", field="notice"
            )
        else:
            out[claim] = ref
    return out
