"""The facts the service layer gathers for one dial, and the engine's answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal

__all__ = [
    "CallerLineFact",
    "CapOverride",
    "ConsentFact",
    "Decision",
    "DialFacts",
    "LicenceFact",
    "WindowOverride",
]


@dataclass(frozen=True, slots=True)
class ConsentFact:
    status: Literal["granted", "withdrawn", "expired"]
    channels: frozenset[str]
    given_at: datetime
    expires_at: datetime | None
    withdrawn_at: datetime | None


@dataclass(frozen=True, slots=True)
class CallerLineFact:
    registered: bool  # belongs to the tenant
    in_campaign: bool
    whitelist_status: str  # "approved" | "pending" | "revoked" | "expired"
    whitelisted_until: datetime | None


@dataclass(frozen=True, slots=True)
class LicenceFact:
    kind: str  # e.g. "cn_vats_call_centre", "cn_financial"
    purposes: frozenset[str]
    valid_from: datetime
    valid_until: datetime | None


@dataclass(frozen=True, slots=True)
class WindowOverride:
    """A campaign's own calling window, checked in the callee's local time on top of the policy windows."""

    start: time
    end: time
    days: frozenset[int]  # 0 = Monday


@dataclass(frozen=True, slots=True)
class CapOverride:
    max_attempts: int
    period: timedelta


@dataclass(frozen=True, slots=True)
class DialFacts:
    purpose: str
    channel: str
    handle_state: Literal["valid", "unknown", "expired", "revoked"]
    campaign_open: bool
    contact_erased: bool
    suppressed: bool
    consent: ConsentFact | None
    callee_region: str | None  # ISO 3166-1 alpha-2 from phonenumbers
    callee_subdivisions: frozenset[str]  # e.g. {"US-FL"}; empty if unknown
    callee_time_zones: tuple[str, ...]  # IANA names; empty => unknown zone
    attempt_times: tuple[datetime, ...]  # earlier authorized attempts, this contact + purpose
    last_refusal_at: datetime | None
    caller_line: CallerLineFact | None  # None => caller line not registered
    licences: tuple[LicenceFact, ...]
    campaign_window: WindowOverride | None = None
    campaign_caps: tuple[CapOverride, ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    """`allow` with no reasons, or a deny with every failing reason in priority order (first = primary)."""

    allow: bool
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str | None:
        return self.reasons[0] if self.reasons else None
