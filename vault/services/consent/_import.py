"""Bulk import of consents from rows of a CSV file: validated, deduplicated, loaded a batch at a time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import NamedTuple

from sqlmodel import Session

from ...clock import utc
from ...crypto import TenantKeyring
from ...errors import DialvaultError
from .._context import Actor, Vault
from .._phone import parse_phone
from ..contacts import BatchItemError, SealedContact, seal_contacts
from ._capture import ConsentInput, DuplicateItem, capture_consents
from ._notices import NoticeClaim

__all__ = [
    "IMPORT_COLUMNS",
    "REQUIRED_COLUMNS",
    "ImportRow",
    "RowIdentity",
    "RowOutcome",
    "import_batch",
    "missing_columns",
    "row_identities",
]

REQUIRED_COLUMNS = ("phone", "purpose", "channels", "notice_id", "notice_version", "method", "consented_at")
IMPORT_COLUMNS = (*REQUIRED_COLUMNS, "region", "expires_at", "jurisdiction", "language")


class RowIdentity(NamedTuple):
    """What a row costs most that needs no database, worked out ahead (elsewhere): the capture input its
    cells make (its number in E.164 among them), and the contact row the number gets if it is new."""

    parsed: ConsentInput
    contact: SealedContact | None = None

    @property
    def e164(self) -> str:
        return self.parsed.phone or ""


class ImportRow(NamedTuple):
    """One CSV record: its line number and its cells, in the order of the file's header; `identity` when
    `row_identities` already gave it for these cells."""

    line: int
    values: Sequence[str]
    identity: RowIdentity | None = None


class RowOutcome(NamedTuple):
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


class _Rows:
    """Turns the cells of a batch's rows into capture inputs; values repeated down a file are parsed once."""

    def __init__(self, header: Sequence[str]) -> None:
        positions = {name.strip(): index for index, name in enumerate(header)}
        # The cells in IMPORT_COLUMNS order, as one C-level call per row: an absent optional column reads the
        # blank cell appended to each row (at the header's width).
        self._width = len(header)
        self._cells = itemgetter(*(positions.get(column, self._width) for column in IMPORT_COLUMNS))
        self._dates: dict[tuple[str, str], datetime] = {}
        self._channels: dict[str, list[str]] = {}
        self._notices: dict[tuple[str, str], NoticeClaim] = {}

    def _date(self, value: str, code: str) -> datetime:
        """The instant (aware UTC), the same object for the same cell text."""
        found = self._dates.get((value, code))
        if found is None:
            try:
                found = self._dates[(value, code)] = utc(datetime.fromisoformat(value))
            except ValueError:
                raise _Reject(code) from None
        return found

    def _channel_list(self, value: str) -> list[str]:
        found = self._channels.get(value)
        if found is None:
            found = self._channels[value] = sorted({c.strip() for c in value.split(";") if c.strip()})
        return found

    def input(self, values: Sequence[str]) -> ConsentInput:
        width = self._width
        row = [*values, ""] if len(values) == width else [*values[:width], *[""] * (width + 1 - len(values[:width]))]
        phone, purpose, channels_text, notice_id, notice_version, method, consented, region, expires, juris, lang = map(
            str.strip, self._cells(row)
        )
        try:
            e164 = parse_phone(phone, region or None).e164
        except DialvaultError as exc:
            raise _Reject(exc.code) from None
        consented_at = self._date(consented, "invalid_consented_at")
        expires_at = self._date(expires, "invalid_expires_at") if expires else None
        channels = self._channel_list(channels_text)
        if not channels:
            raise _Reject("missing_channels")
        if not purpose or not method or not notice_id or not notice_version:
            raise _Reject("missing_value")
        notice = self._notices.get((notice_id, notice_version))
        if notice is None:
            notice = self._notices[(notice_id, notice_version)] = NoticeClaim(notice_id, notice_version)
        # Positional: keyword construction of a named tuple costs as much again, per row.
        return ConsentInput(
            purpose, channels, notice, method, e164, None, None, juris or None, lang or None, None, expires_at,
            consented_at, True, True,
        )  # fmt: skip


def row_identities(
    keyring: TenantKeyring, header: Sequence[str]
) -> Callable[[Sequence[Sequence[str]]], list[RowIdentity | None]]:
    """The identities of rows' cells, each None if its row is to be rejected (`import_batch` says why).

    A pure function of the cells and the tenant's keys: a bulk loader computes it ahead, in parallel with the
    loading, and hands each identity to `import_batch` with its row. The contact ids of one call share a
    random group, as those of one `ensure_contacts` call do.
    """
    parse = _Rows(header)

    def identities(rows: Sequence[Sequence[str]]) -> list[RowIdentity | None]:
        parsed: list[ConsentInput | None] = []
        for values in rows:
            try:
                parsed.append(parse.input(values))
            except _Reject:
                parsed.append(None)
        numbers = list(dict.fromkeys(item.phone or "" for item in parsed if item is not None))
        contacts = dict(zip(numbers, seal_contacts(keyring, numbers), strict=True))
        return [None if item is None else RowIdentity(item, contacts[item.phone or ""]) for item in parsed]

    return identities


def import_batch(
    session: Session, vault: Vault, actor: Actor, header: Sequence[str], rows: Sequence[ImportRow], now: datetime
) -> list[RowOutcome]:
    """Load one batch in the caller's transaction. Re-importing a row is a no-op: its contact already has
    the grant it describes (`ConsentInput.skip_if_recorded`)."""
    parse = _Rows(header)
    outcomes: list[RowOutcome | None] = [None] * len(rows)
    inputs: list[ConsentInput] = []
    positions: list[int] = []
    for position, row in enumerate(rows):
        try:
            inputs.append(row.identity.parsed if row.identity is not None else parse.input(row.values))
            positions.append(position)
        except _Reject as exc:
            outcomes[position] = RowOutcome(row.line, "rejected", exc.code)
    sealed = {row.identity.e164: row.identity.contact for row in rows if row.identity and row.identity.contact}
    results = (
        capture_consents(session, vault, actor, inputs, now, action="consents.imported", sealed=sealed)
        if inputs
        else []
    )
    for position, result in zip(positions, results, strict=True):
        line = rows[position].line
        if isinstance(result, BatchItemError):
            outcomes[position] = RowOutcome(line, "rejected", result.code)
        elif isinstance(result, DuplicateItem):
            outcomes[position] = RowOutcome(line, "duplicate")
        else:
            outcomes[position] = RowOutcome(line, "loaded")
    return [o for o in outcomes if o is not None]
