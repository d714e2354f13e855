"""Bulk import of consents from rows of a CSV file: validated, deduplicated, loaded a batch at a time."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from ...clock import utc
from ...errors import DialvaultError
from .._context import Actor, Vault
from .._phone import parse_phone
from ..contacts import BatchItemError
from ._capture import ConsentInput, DuplicateItem, capture_consents
from ._notices import NoticeClaim

__all__ = ["IMPORT_COLUMNS", "REQUIRED_COLUMNS", "ImportRow", "RowOutcome", "import_batch", "missing_columns"]

REQUIRED_COLUMNS = ("phone", "purpose", "channels", "notice_id", "notice_version", "method", "consented_at")
IMPORT_COLUMNS = (*REQUIRED_COLUMNS, "region", "expires_at", "jurisdiction", "language")


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    values: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class RowOutcome:
    line: int
    status: str  # loaded | duplicate | rejected
    reason: str | None = None


def missing_columns(header: Sequence[str]) -> list[str]:
    present = {h.strip() for h in header}
    return [c for c in REQUIRED_COLUMNS if c not in present]


class _Reject(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _date(value: str, code: str) -> datetime:
    try:
        return utc(datetime.fromisoformat(value.strip()))
    except ValueError:
        raise _Reject(code) from None


def _text(row: Mapping[str, str], key: str) -> str:
    value = row.get(key)
    return value.strip() if value else ""


def _row_input(tenant_id: str, row: Mapping[str, str]) -> ConsentInput:
    region = _text(row, "region") or None
    try:
        e164 = parse_phone(_text(row, "phone"), region).e164
    except DialvaultError as exc:
        raise _Reject(exc.code) from None
    consented_at = _date(_text(row, "consented_at"), "invalid_consented_at")
    expires_raw = _text(row, "expires_at")
    expires_at = _date(expires_raw, "invalid_expires_at") if expires_raw else None
    channels = sorted({c.strip() for c in _text(row, "channels").split(";") if c.strip()})
    if not channels:
        raise _Reject("missing_channels")
    purpose, method = _text(row, "purpose"), _text(row, "method")
    notice_id, notice_version = _text(row, "notice_id"), _text(row, "notice_version")
    if not purpose or not method or not notice_id or not notice_version:
        raise _Reject("missing_value")
    jurisdiction, language = _text(row, "jurisdiction") or None, _text(row, "language") or None
    normalized = "\x1f".join(
        (
            tenant_id, e164, purpose, ";".join(channels), notice_id, notice_version, method,
            consented_at.isoformat(), expires_at.isoformat() if expires_at else "", jurisdiction or "", language or "",
        )
    )  # fmt: skip
    return ConsentInput(
        purpose=purpose,
        channels=channels,
        notice=NoticeClaim(notice_id, notice_version),
        method=method,
        phone=e164,
        jurisdiction=jurisdiction,
        language=language,
        expires_at=expires_at,
        occurred_at=consented_at,
        idempotency_key="import:" + hashlib.sha256(normalized.encode("utf-8")).hexdigest(),
        normalized=True,
    )


def import_batch(
    session: Session, vault: Vault, actor: Actor, rows: Sequence[ImportRow], now: datetime
) -> list[RowOutcome]:
    """Load one batch in the caller's transaction. Re-importing a row is a no-op (its key is stored)."""
    outcomes: list[RowOutcome | None] = [None] * len(rows)
    inputs: list[ConsentInput] = []
    positions: list[int] = []
    for position, row in enumerate(rows):
        try:
            inputs.append(_row_input(actor.tenant_id, row.values))
            positions.append(position)
        except _Reject as exc:
            outcomes[position] = RowOutcome(row.line, "rejected", exc.code)
    results = capture_consents(session, vault, actor, inputs, now, action="consents.imported") if inputs else []
    for position, result in zip(positions, results, strict=True):
        line = rows[position].line
        if isinstance(result, BatchItemError):
            outcomes[position] = RowOutcome(line, "rejected", result.code)
        elif isinstance(result, DuplicateItem):
            outcomes[position] = RowOutcome(line, "duplicate")
        else:
            outcomes[position] = RowOutcome(line, "loaded")
    return [o for o in outcomes if o is not None]
