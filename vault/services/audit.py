"""The tamper-evident audit ledger: hash-chained, MAC'ed per tenant, never holding a number."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy import Text, bindparam, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from ..crypto import DecryptionError, KeyFamily, TenantKeyring, constant_time_equal
from ..errors import AuditWriteFailed
from ..storage import Prepared, Tx, canonical_json
from ..storage import tables as t
from ..storage.tables import AuditEntry, AuditHead
from ._context import Actor

__all__ = ["GENESIS_HASH", "LedgerReport", "init_ledger", "record_event", "verify_ledger"]

GENESIS_HASH = bytes(32)
# A run of seven or more digits (spaces allowed between) looks like a phone number: never store it.
_NUMBER_LIKE = re.compile(r"\d(?:\s?\d){6,}")


def _json_text(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _entry_payload(
    tenant_id: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    target_type: str | None,
    target_id: str | None,
    reason: str | None,
    details_json: str | None,
    key_version: int,
) -> bytes:
    """What an entry's hash covers: the canonical JSON (sorted keys) of its fields, written out around the
    details' canonical JSON (already made for the row) rather than encoding and sorting a dict of the
    entry: an append is on every audited request."""
    return (
        f'{{"action":{_json_text(action)},"actor":{_json_text(actor)},'
        f'"at":"{at.isoformat(timespec="microseconds")}","details":{details_json or "null"},'
        f'"key_version":{key_version},"reason":{_json_text(reason)},"seq":{seq},'
        f'"target_id":{_json_text(target_id)},"target_type":{_json_text(target_type)},'
        f'"tenant_id":{_json_text(tenant_id)}}}'
    ).encode()


def _entry_hash(prev_hash: bytes, payload: bytes) -> bytes:
    return hashlib.sha256(prev_hash + payload).digest()


def _refuse_number_like(*values: str | None) -> None:
    # One search over all of them: a separator that is not a digit or a space keeps a run within a value.
    if _NUMBER_LIKE.search("|".join(v for v in values if v)):
        raise AuditWriteFailed()


# Every write path appends here: prepared once, run on the DBAPI cursor.
_HEAD_FOR_UPDATE = Prepared(
    select(t.audit_heads.c.seq, t.audit_heads.c.entry_hash)
    .where(t.audit_heads.c.tenant_id == bindparam("tenant"))
    .with_for_update()
)
# `details` is bound as the canonical JSON text already checked for number-like runs (JSONText's form).
_INSERT_ENTRY = Prepared(
    insert(t.audit_entries).values(
        {c.name: bindparam(c.name, type_=Text() if c.name == "details" else c.type) for c in t.audit_entries.c}
    )
)
_MOVE_HEAD = Prepared(
    update(t.audit_heads)
    .where(t.audit_heads.c.tenant_id == bindparam("tenant"))
    .values(seq=bindparam("seq"), entry_hash=bindparam("entry_hash"))
)


def _write_entries(tx: Tx, tenant_id: str, head_key: tuple[str, str]) -> None:
    """At commit: the transaction's entries of one tenant in one statement, then its head moves once."""
    seq, entry_hash = tx.memo[head_key]
    try:
        _INSERT_ENTRY.run_many(tx, tx.memo[("audit_entries", tenant_id)])
        _MOVE_HEAD.run(tx, {"tenant": tenant_id, "seq": seq, "entry_hash": entry_hash})
    except SQLAlchemyError:
        raise AuditWriteFailed() from None


def init_ledger(session: Session, tenant_id: str) -> None:
    session.execute(insert(t.audit_heads).values(tenant_id=tenant_id, seq=0, entry_hash=GENESIS_HASH))


def record_event(
    unit: Session | Tx,
    keyring: TenantKeyring,
    actor: Actor | str,
    action: str,
    now: datetime,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    reason: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> int:
    """Append one entry in the caller's transaction; if it cannot be written the action fails too."""
    actor_id = actor if isinstance(actor, str) else f"{actor.role}:{actor.key_id}"
    tenant_id = keyring.tenant_id
    details_json = canonical_json(dict(details)) if details else None
    _refuse_number_like(details_json, target_id, reason, action)
    tx = unit if isinstance(unit, Tx) and unit.defers_writes else None
    head_key = ("audit_head", tenant_id)
    try:
        head = tx.memo.get(head_key) if tx is not None else None
        if head is None:
            row = _HEAD_FOR_UPDATE.first(unit, {"tenant": tenant_id})
            if row is None:
                raise AuditWriteFailed()
            head = (int(row.seq), bytes(row.entry_hash))
        prev_seq, prev_hash = head
        seq = prev_seq + 1
        key_version = keyring.current_version(KeyFamily.AUDIT_MAC)
        payload = _entry_payload(
            tenant_id, seq, now, actor_id, action, target_type, target_id, reason, details_json, key_version
        )
        entry_hash = _entry_hash(prev_hash, payload)
        entry = {
            "tenant_id": tenant_id, "seq": seq, "at": now, "actor": actor_id, "action": action,
            "target_type": target_type, "target_id": target_id, "reason": reason,
            "details": details_json, "prev_hash": prev_hash, "entry_hash": entry_hash,
            "mac": keyring.audit_mac(entry_hash, key_version), "key_version": key_version,
        }  # fmt: skip
        if tx is not None:
            # Written at commit, with the head row (locked above) moved once to the last of them. A new
            # tuple each time: a savepoint's rollback restores the memo's values, not what they hold.
            entries_key = ("audit_entries", tenant_id)
            tx.memo[entries_key] = (*tx.memo.get(entries_key, ()), entry)
            tx.memo[head_key] = (seq, entry_hash)
            tx.before_commit(head_key, lambda: _write_entries(tx, tenant_id, head_key))
        else:
            _INSERT_ENTRY.run(unit, entry)
            _MOVE_HEAD.run(unit, {"tenant": tenant_id, "seq": seq, "entry_hash": entry_hash})
    except SQLAlchemyError:
        raise AuditWriteFailed() from None
    return seq


@dataclass(frozen=True, slots=True)
class LedgerReport:
    ok: bool
    entries: int
    first_bad: int | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "entries": self.entries}
        if not self.ok:
            out["first_bad"] = self.first_bad
            out["problem"] = self.problem
        return out


def verify_ledger(session: Session, keyring: TenantKeyring) -> LedgerReport:
    """Walk the chain: sequence, links, hashes, MACs, and the head must all agree."""
    tenant_id = keyring.tenant_id
    prev_hash = GENESIS_HASH
    expected_seq = 1
    count = 0
    rows = session.execute(
        select(AuditEntry).where(t.audit_entries.c.tenant_id == tenant_id).order_by(t.audit_entries.c.seq)
    ).scalars()
    for entry in rows:
        if entry.seq != expected_seq:
            return LedgerReport(False, count, expected_seq, "missing entry")
        if not constant_time_equal(entry.prev_hash, prev_hash):
            return LedgerReport(False, count, entry.seq, "broken link")
        payload = _entry_payload(
            tenant_id,
            entry.seq,
            entry.at,
            entry.actor,
            entry.action,
            entry.target_type,
            entry.target_id,
            entry.reason,
            canonical_json(entry.details) if entry.details is not None else None,
            entry.key_version,
        )
        recomputed = _entry_hash(prev_hash, payload)
        if not constant_time_equal(recomputed, entry.entry_hash):
            return LedgerReport(False, count, entry.seq, "entry changed")
        try:
            mac = keyring.audit_mac(entry.entry_hash, entry.key_version)
        except DecryptionError:
            return LedgerReport(False, count, entry.seq, "unknown audit key version")
        if not constant_time_equal(mac, entry.mac):
            return LedgerReport(False, count, entry.seq, "bad MAC")
        prev_hash = entry.entry_hash
        expected_seq += 1
        count += 1
    head = session.execute(select(AuditHead).where(t.audit_heads.c.tenant_id == tenant_id)).scalar_one_or_none()
    if head is None or head.seq != count or not constant_time_equal(head.entry_hash, prev_hash):
        return LedgerReport(False, count, count + 1, "entries missing after the last one found")
    return LedgerReport(True, count)
