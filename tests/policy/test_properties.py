"""Property: whatever the time and place, a single deny fact always denies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from vault.policy import CapOverride, PolicySet, decide, load_policy_set

from .helpers import SHIPPED, caller_line, consent, facts

POLICY: PolicySet = load_policy_set(SHIPPED)
NOW = datetime(2026, 3, 2, 4, tzinfo=UTC)

DENY_FACTS: dict[str, dict[str, Any]] = {
    "unknown_purpose": {"purpose": "lottery"},
    "unknown_handle": {"handle_state": "unknown"},
    "expired_handle": {"handle_state": "expired"},
    "revoked_handle": {"handle_state": "revoked"},
    "campaign_closed": {"campaign_open": False},
    "erased": {"contact_erased": True},
    "suppressed": {"suppressed": True},
    "no_consent": {"consent": None},
    "withdrawn": {"consent": consent(status="withdrawn")},
    "expired": {"consent": consent(status="expired")},
    "wrong_channel": {"consent": consent(channels=frozenset({"prerecorded"}))},
    "no_zone": {"callee_time_zones": ()},
    "capped": {"attempt_times": (), "campaign_caps": (CapOverride(2, timedelta(hours=1)),)},
    "no_line": {"caller_line": None},
    "line_pending": {"caller_line": caller_line(whitelist_status="revoked")},
}

regions = st.sampled_from(
    [
        ("CN", (), ("Asia/Shanghai",)),
        ("US", ("US-FL",), ("America/New_York",)),
        ("US", (), ("America/Los_Angeles", "America/Denver")),
        ("FR", (), ("Europe/Paris",)),
        ("DE", (), ("Europe/Berlin",)),
        ("GB", (), ("Europe/London",)),
        (None, (), ()),
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    deny=st.sampled_from(sorted(DENY_FACTS)),
    offset_minutes=st.integers(min_value=-60 * 24 * 30, max_value=60 * 24 * 30),
    where=regions,
    purpose=st.sampled_from(["marketing", "survey"]),
    channel=st.sampled_from(["voice", "sms"]),
)
def test_a_single_deny_fact_never_allows(
    deny: str,
    offset_minutes: int,
    where: tuple[str | None, tuple[str, ...], tuple[str, ...]],
    purpose: str,
    channel: str,
) -> None:
    region, subdivisions, zones = where
    now = NOW + timedelta(minutes=offset_minutes)
    changes: dict[str, Any] = {
        "purpose": purpose,
        "channel": channel,
        "callee_region": region,
        "callee_subdivisions": frozenset(subdivisions),
        "callee_time_zones": zones,
        **DENY_FACTS[deny],
    }
    if "attempt_times" in changes:
        changes["attempt_times"] = tuple(now - timedelta(minutes=5 + i) for i in range(4))
    decision = decide(POLICY, facts(**changes), now)
    assert not decision.allow
    assert decision.reasons


@settings(max_examples=80, deadline=None)
@given(offset_minutes=st.integers(min_value=0, max_value=60 * 24 * 14), where=regions)
def test_decisions_are_consistent(
    offset_minutes: int, where: tuple[str | None, tuple[str, ...], tuple[str, ...]]
) -> None:
    region, subdivisions, zones = where
    now = NOW + timedelta(minutes=offset_minutes)
    dial = facts(callee_region=region, callee_subdivisions=frozenset(subdivisions), callee_time_zones=zones)
    decision = decide(POLICY, dial, now)
    assert decision.allow == (decision.reasons == ())
    assert decision == decide(POLICY, dial, now)  # pure: same input, same answer
