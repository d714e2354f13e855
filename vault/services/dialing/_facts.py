"""Turning rows into the engine's facts: consent, caller line, campaign window and caps, callee facts."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session

from ...policy import CallerLineFact, CapOverride, ConsentFact, LicenceFact, Plan, PolicySet, WindowOverride
from ...storage import Prepared, Tx
from ...storage import tables as t
from .._phone import NumberFacts, number_facts

__all__ = [
    "REFUSAL_OUTCOMES",
    "CalleeFactsCache",
    "caller_line_fact",
    "campaign_caps",
    "campaign_window",
    "consent_fact",
    "history_horizon",
    "licence_facts",
    "licences_needed",
    "policy_ref",
]

#: Outcomes that are a refusal by the callee (they start a policy's refusal cool-off).
REFUSAL_OUTCOMES = ("opted_out", "complaint")
_CONSENT_STATUSES = frozenset({"granted", "withdrawn", "expired"})


class CalleeFactsCache:
    """Region, subdivisions and time zones of callees, keyed by blind index (never by the number), bounded LRU."""

    def __init__(self, maxsize: int = 200_000) -> None:
        self._maxsize = maxsize
        self._entries: OrderedDict[bytes, NumberFacts] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, blind_index: bytes) -> NumberFacts | None:
        found = self._entries.get(blind_index)
        if found is not None:
            with self._lock:
                if blind_index in self._entries:
                    self._entries.move_to_end(blind_index)
        return found

    def get_or_compute(self, blind_index: bytes, e164: Callable[[], str]) -> NumberFacts:
        found = self.get(blind_index)
        if found is not None:
            return found
        facts = number_facts(e164())
        with self._lock:
            self._entries[blind_index] = facts
            if len(self._entries) > self._maxsize:
                self._entries.popitem(last=False)
        return facts

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def consent_fact(
    status: str | None,
    channels: Iterable[str] | None,
    given_at: datetime | None,
    expires_at: datetime | None,
    withdrawn_at: datetime | None,
) -> ConsentFact | None:
    if status is None or given_at is None:
        return None
    if status not in _CONSENT_STATUSES:
        status = "withdrawn"  # an unknown state must never read as a grant
    return ConsentFact(
        status=status,  # type: ignore[arg-type]
        channels=frozenset(channels or ()),
        given_at=given_at,
        expires_at=expires_at,
        withdrawn_at=withdrawn_at,
    )


def caller_line_fact(
    line_id: str | None, in_campaign: bool, whitelist_status: str | None, whitelisted_until: datetime | None
) -> CallerLineFact | None:
    if line_id is None or whitelist_status is None:
        return None
    return CallerLineFact(
        registered=True, in_campaign=in_campaign, whitelist_status=whitelist_status,
        whitelisted_until=whitelisted_until,
    )  # fmt: skip


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def campaign_window(window: dict[str, Any] | None) -> WindowOverride | None:
    if not window:
        return None
    return WindowOverride(
        start=_clock(window["start"]), end=_clock(window["end"]), days=frozenset(int(d) for d in window["days"])
    )


def campaign_caps(caps: list[dict[str, Any]] | None) -> tuple[CapOverride, ...]:
    return tuple(CapOverride(int(c["max_attempts"]), timedelta(hours=int(c["period_hours"]))) for c in caps or ())


def history_horizon(plan: Plan, caps: tuple[CapOverride, ...], now: datetime) -> datetime:
    """How far back earlier attempts matter: the longest in-force cap or cool-off period (at least a day)."""
    longest = timedelta(days=1)
    for rule in plan.caps:
        if rule.in_force(now):
            longest = max(longest, rule.period)
    for cooloff in plan.cooloffs:
        if cooloff.in_force(now):
            longest = max(longest, cooloff.period)
    for cap in caps:
        longest = max(longest, cap.period)
    return now - longest


def licences_needed(policy: PolicySet, plan: Plan) -> bool:
    return bool(plan.licences) and (policy.licences_enforced or any(r.enforced for r in plan.licences))


_c = t.licences.c
_LICENCES = Prepared(
    select(_c.kind, _c.purposes, _c.valid_from, _c.valid_until).where(_c.tenant_id == bindparam("tenant"))
)


def licence_facts(unit: Session | Tx, tenant_id: str) -> tuple[LicenceFact, ...]:
    rows = _LICENCES.all(unit, {"tenant": tenant_id})
    return tuple(LicenceFact(r.kind, frozenset(r.purposes), r.valid_from, r.valid_until) for r in rows)


def policy_ref(policy: PolicySet) -> str:
    """The policy fingerprint as the audit ledger can hold it: hex in groups of four, so it never reads as a number."""
    return _grouped_hex(policy.fingerprint)


@lru_cache(maxsize=64)
def _grouped_hex(fingerprint: str) -> str:
    return "-".join(fingerprint[i : i + 4] for i in range(0, len(fingerprint), 4))
