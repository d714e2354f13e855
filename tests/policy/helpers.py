"""Fact builders shared by the policy tests: a base dial that every shipped rule allows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vault.policy import CallerLineFact, ConsentFact, DialFacts, LicenceFact

SHIPPED = Path(__file__).resolve().parents[2] / "policies"

# Monday 2026-03-02 12:00 in Shanghai.
NOON_SHANGHAI = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)

GIVEN = datetime(2026, 1, 1, tzinfo=UTC)


def consent(**changes: Any) -> ConsentFact:
    base = ConsentFact(
        status="granted",
        channels=frozenset({"voice", "voice_autodialer", "prerecorded", "sms"}),
        given_at=GIVEN,
        expires_at=GIVEN + timedelta(days=730),
        withdrawn_at=None,
    )
    return replace(base, **changes)


def caller_line(**changes: Any) -> CallerLineFact:
    base = CallerLineFact(registered=True, in_campaign=True, whitelist_status="approved", whitelisted_until=None)
    return replace(base, **changes)


def licence(**changes: Any) -> LicenceFact:
    base = LicenceFact(
        kind="cn_vats_call_centre",
        purposes=frozenset({"marketing", "service", "collections", "survey"}),
        valid_from=datetime(2025, 1, 1, tzinfo=UTC),
        valid_until=datetime(2028, 1, 1, tzinfo=UTC),
    )
    return replace(base, **changes)


def facts(**changes: Any) -> DialFacts:
    """A marketing voice call to a mainland-China mobile, everything in order."""
    base = DialFacts(
        purpose="marketing",
        channel="voice",
        handle_state="valid",
        campaign_open=True,
        contact_erased=False,
        suppressed=False,
        consent=consent(),
        callee_region="CN",
        callee_subdivisions=frozenset(),
        callee_time_zones=("Asia/Shanghai",),
        attempt_times=(),
        last_refusal_at=None,
        caller_line=caller_line(),
        licences=(),
    )
    return replace(base, **changes)


def us(zone: str = "America/New_York", *subdivisions: str, **changes: Any) -> DialFacts:
    where: dict[str, Any] = {
        "callee_region": "US",
        "callee_subdivisions": frozenset(subdivisions),
        "callee_time_zones": (zone,),
    }
    return facts(**{**where, **changes})


def fr(**changes: Any) -> DialFacts:
    return facts(**{"callee_region": "FR", "callee_time_zones": ("Europe/Paris",), **changes})


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
