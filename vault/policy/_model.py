"""Pydantic models of the policy files (validated at load) and of tenant overrides."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "CHANNELS",
    "WEEKDAYS",
    "CapRule",
    "Citation",
    "ComplaintRule",
    "ConsentRequirementRule",
    "CooloffRule",
    "DsrRule",
    "DueRule",
    "JurisdictionHeader",
    "JurisdictionOverride",
    "LicenceRule",
    "MethodRequirement",
    "OverridesFile",
    "Period",
    "PolicyFile",
    "Purpose",
    "RetentionRule",
    "RuleBase",
    "ScreeningRule",
    "WindowRule",
    "parse_duration",
]

Channel = Literal["voice", "voice_autodialer", "prerecorded", "sms"]
CHANNELS: frozenset[str] = frozenset({"voice", "voice_autodialer", "prerecorded", "sms"})
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Status = Literal["statute", "regulation", "guidance", "standard", "draft", "industry", "tenant"]
LegalBasis = Literal["consent", "contract", "legal_obligation", "legitimate_interest"]
RecordKind = Literal["call_attempt", "consent_evidence", "complaint", "suppression", "dsr_record", "dial_handle"]
RequestType = Literal["access", "erasure", "rectification", "withdraw_all"]

_NAME = r"^[a-z][a-z0-9_]*$"
_RULE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_CODE = r"^(default|[A-Z]{2}(-[A-Z0-9]{1,3})?|[A-Z]{2,8})$"
_DURATION = re.compile(r"^\s*(\d+)\s*(h|d|w|mo|y)\s*$")


def parse_duration(text: str) -> timedelta:
    """`"24h"`, `"30d"`, `"2w"`, `"6mo"`, `"5y"`. Months count 31 days and years 365 days plus every
    leap day they may span, so a duration is never shorter than the calendar span it names."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"bad duration {text!r}: use a whole number and h, d, w, mo or y, e.g. '24h', '5y'")
    amount, unit = int(match.group(1)), match.group(2)
    if amount <= 0:
        raise ValueError("a duration must be positive")
    if unit == "h":
        return timedelta(hours=amount)
    if unit == "d":
        return timedelta(days=amount)
    if unit == "w":
        return timedelta(weeks=amount)
    if unit == "mo":
        return timedelta(days=31 * amount)
    return timedelta(days=365 * amount + math.ceil(amount / 4))


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError("a duration is a string such as '24h', '30d', '6mo' or '5y'")
    return parse_duration(value)


def _instant(value: Any) -> Any:
    """TOML dates mean 00:00 UTC that day; offset date-times are kept; naive date-times are refused.
    JSON overrides give the same as ISO strings."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value) if len(value.strip()) == 10 else datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"bad date {value!r}: use YYYY-MM-DD or an ISO date-time with offset") from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a date-time needs a UTC offset (or give a plain date)")
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value


def _clock(value: Any) -> Any:
    """'HH:MM' / 'HH:MM:SS' (or a TOML local time) -> seconds since midnight; '24:00' ends a day."""
    if isinstance(value, time):
        if value.microsecond:
            raise ValueError("times have whole seconds")
        return value.hour * 3600 + value.minute * 60 + value.second
    if isinstance(value, str):
        if value.strip() == "24:00":
            return 86400
        match = re.fullmatch(r"\s*(\d{2}):(\d{2})(?::(\d{2}))?\s*", value)
        if match is None:
            raise ValueError(f"bad time {value!r}: use 'HH:MM' (00:00 to 24:00)")
        hours, minutes, seconds = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
        if hours > 23 or minutes > 59 or seconds > 59:
            raise ValueError(f"bad time {value!r}: use 'HH:MM' (00:00 to 24:00)")
        return hours * 3600 + minutes * 60 + seconds
    raise ValueError("a time is a string 'HH:MM'")


Duration = Annotated[timedelta, BeforeValidator(_duration)]
Instant = Annotated[datetime, BeforeValidator(_instant)]
ClockSeconds = Annotated[int, BeforeValidator(_clock)]
NonEmpty = Annotated[str, Field(min_length=3)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Citation(_Strict):
    source: NonEmpty
    status: Status
    url: str | None = None


class RuleBase(_Strict):
    """Fields every rule has: an id, its source and status, and when it is in force."""

    id: Annotated[str, Field(pattern=_RULE_ID)]
    source: NonEmpty
    status: Status
    effective_from: Instant
    effective_to: Instant | None = None
    url: str | None = None
    note: str | None = None
    # Which purposes the rule covers: by name or by tag. Both empty = every purpose.
    purposes: tuple[Annotated[str, Field(pattern=_NAME)], ...] = ()
    purpose_tags: tuple[Annotated[str, Field(pattern=_NAME)], ...] = ()
    # Which channels the rule covers; empty = every channel.
    channels: tuple[Channel, ...] = ()

    @model_validator(mode="after")
    def _dates_in_order(self) -> RuleBase:
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError("effective_to must be after effective_from")
        return self

    def covers(self, purpose: Purpose, channel: str) -> bool:
        if self.channels and channel not in self.channels:
            return False
        if not self.purposes and not self.purpose_tags:
            return True
        return purpose.name in self.purposes or not set(self.purpose_tags).isdisjoint(purpose.tags)

    def in_force(self, at: datetime) -> bool:
        return self.effective_from <= at and (self.effective_to is None or at < self.effective_to)


class WindowRule(RuleBase):
    """Calls allowed only inside one of `periods` ([start, end), callee local time) on `days`."""

    days: tuple[Weekday, ...] = WEEKDAYS
    periods: tuple[tuple[ClockSeconds, ClockSeconds], ...] = Field(min_length=1)
    exclude_public_holidays: bool = False

    @field_validator("periods")
    @classmethod
    def _periods_ordered(cls, value: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
        for start, end in value:
            if not start < end:
                raise ValueError("each period is [start, end) with start before end (no overnight periods)")
        return value

    @field_validator("days")
    @classmethod
    def _some_days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("list at least one day (a rule that forbids every day is a suppression)")
        return value


class CapRule(RuleBase):
    """At most `max_attempts` authorized attempts per contact and purpose in any rolling `period`."""

    max_attempts: Annotated[int, Field(ge=1, le=10_000)]
    period: Duration


class CooloffRule(RuleBase):
    """No call for `period` after the person refused."""

    period: Duration


class ConsentRequirementRule(RuleBase):
    """A live consent covering the channel is needed here even when the purpose's legal basis is not consent."""


class LicenceRule(RuleBase):
    """The tenant must hold a valid licence of one of `kinds` covering the purpose (only when enforced)."""

    kinds: tuple[Annotated[str, Field(pattern=_NAME)], ...] = Field(min_length=1)
    enforced: bool = False


class Period(_Strict):
    """A calendar period: exactly one of working_days, days or months."""

    working_days: Annotated[int, Field(ge=1, le=366)] | None = None
    days: Annotated[int, Field(ge=1, le=3660)] | None = None
    months: Annotated[int, Field(ge=1, le=120)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Period:
        if sum(v is not None for v in (self.working_days, self.days, self.months)) != 1:
            raise ValueError("give exactly one of working_days, days, months")
        return self


class DueRule(RuleBase):
    due: Period
    extension: Period | None = None
    # A fallback rule counts only where no other rule of its kind applies.
    fallback: bool = False
    # Country (and optional subdivision, "US-CA") whose public holidays are not working days.
    holiday_country: Annotated[str, Field(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")] | None = None
    # Zone in which days are counted; default UTC.
    time_zone: str | None = None


class DsrRule(DueRule):
    request_types: tuple[RequestType, ...] = ()  # empty = every type


class ComplaintRule(DueRule):
    pass


class RetentionRule(RuleBase):
    """Keep records of `record_kind` at least `period` (measured from `measured_from`)."""

    record_kind: RecordKind
    period: Duration
    measured_from: Literal["creation", "last_use", "closure", "expiry"] = "creation"


class ScreeningRule(RuleBase):
    """A do-not-call register the tenant must scrub against, at least every `refresh`."""

    list_name: NonEmpty
    refresh: Duration


class MethodRequirement(_Strict):
    """For these channels only consent captured by one of these methods counts."""

    channels: tuple[Channel, ...] = Field(min_length=1)
    methods: tuple[Annotated[str, Field(pattern=_NAME)], ...] = Field(min_length=1)
    source: NonEmpty
    status: Status


class Purpose(_Strict):
    name: Annotated[str, Field(pattern=_NAME)]
    description: str = ""
    legal_basis: LegalBasis
    requires_explicit_consent: bool
    requires_separate_consent: bool = False
    allowed_channels: frozenset[Channel] = Field(min_length=1)
    default_consent_lifetime_days: Annotated[int, Field(ge=1)] | None = None
    honours_suppression: bool = True
    tags: tuple[Annotated[str, Field(pattern=_NAME)], ...] = ()
    consent_method_requirements: tuple[MethodRequirement, ...] = ()
    citations: tuple[Citation, ...] = Field(min_length=1)

    @property
    def channels(self) -> frozenset[str]:
        return frozenset(self.allowed_channels)

    @property
    def category(self) -> tuple[str, ...]:
        return (self.name, *self.tags)

    @property
    def consent_based(self) -> bool:
        return self.legal_basis == "consent"

    def accepted_methods(self, channel: str) -> frozenset[str] | None:
        """Consent methods that count for `channel`, or None when any recorded method does."""
        found = [set(r.methods) for r in self.consent_method_requirements if channel in r.channels]
        if not found:
            return None
        return frozenset(set.intersection(*found))


class JurisdictionHeader(_Strict):
    code: Annotated[str, Field(pattern=_CODE)]
    name: NonEmpty
    groups: tuple[Annotated[str, Field(pattern=_CODE)], ...] = ()
    holiday_country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    # With a region's subdivisions unknown, apply the rules of all its subdivisions (most restrictive).
    strictest_when_subdivision_unknown: bool = False


class _Rules(_Strict):
    window: tuple[WindowRule, ...] = ()
    cap: tuple[CapRule, ...] = ()
    cooloff: tuple[CooloffRule, ...] = ()
    consent_requirement: tuple[ConsentRequirementRule, ...] = ()
    licence: tuple[LicenceRule, ...] = ()
    dsr: tuple[DsrRule, ...] = ()
    retention: tuple[RetentionRule, ...] = ()
    complaint: tuple[ComplaintRule, ...] = ()
    screening: tuple[ScreeningRule, ...] = ()

    def all_rules(self) -> tuple[RuleBase, ...]:
        return (
            *self.window,
            *self.cap,
            *self.cooloff,
            *self.consent_requirement,
            *self.licence,
            *self.dsr,
            *self.retention,
            *self.complaint,
            *self.screening,
        )


class PolicyFile(_Rules):
    """One shipped file: purposes, and/or one jurisdiction with its rules."""

    format: Literal[1] = 1
    purpose: tuple[Purpose, ...] = ()
    jurisdiction: JurisdictionHeader | None = None

    @model_validator(mode="after")
    def _rules_need_a_jurisdiction(self) -> PolicyFile:
        if self.jurisdiction is None and self.all_rules():
            raise ValueError("rules need a [jurisdiction] table in the same file")
        if self.jurisdiction is None and not self.purpose:
            raise ValueError("the file defines neither purposes nor a [jurisdiction]")
        return self


class JurisdictionOverride(_Rules):
    """A tenant's additions for one jurisdiction. dsr / complaint rules replace the shipped ones there."""

    name: str | None = None
    groups: tuple[Annotated[str, Field(pattern=_CODE)], ...] = ()
    holiday_country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None


class OverridesFile(_Strict):
    """Per-tenant overrides: new purposes, extra rules per jurisdiction, licence enforcement."""

    format: Literal[1] = 1
    licences_enforced: bool | None = None
    purpose: tuple[Purpose, ...] = ()
    jurisdiction: dict[Annotated[str, Field(pattern=_CODE)], JurisdictionOverride] = {}
