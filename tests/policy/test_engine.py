"""decide(): every reason code, windows in the callee's zones, DST, France, caps, licences, effective dates."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from vault import policy as pol
from vault.policy import CapOverride, DialFacts, PolicySet, WindowOverride, decide, load_policy_set

from .helpers import NOON_SHANGHAI, SHIPPED, caller_line, consent, facts, fr, licence, us, utc
from .test_loader import INSURANCE

H = timedelta(hours=1)


def reasons(policy: PolicySet, dial: DialFacts, now: datetime = NOON_SHANGHAI) -> tuple[str, ...]:
    decision = decide(policy, dial, now)
    assert decision.allow == (not decision.reasons)
    return decision.reasons


def allowed(policy: PolicySet, dial: DialFacts, now: datetime = NOON_SHANGHAI) -> bool:
    return decide(policy, dial, now).allow


def test_the_base_call_is_allowed(shipped: PolicySet) -> None:
    decision = decide(shipped, facts(), NOON_SHANGHAI)
    assert decision.allow and decision.reasons == () and decision.reason is None


# Every reason code, each produced by the smallest change to an allowed call.
CASES: list[tuple[str, dict[str, Any]]] = [
    (pol.UNKNOWN_PURPOSE, {"purpose": "lottery"}),
    (pol.UNKNOWN_HANDLE, {"handle_state": "unknown"}),
    (pol.HANDLE_EXPIRED, {"handle_state": "expired"}),
    (pol.HANDLE_EXPIRED, {"handle_state": "revoked"}),
    (pol.CAMPAIGN_CLOSED, {"campaign_open": False}),
    (pol.ERASED, {"contact_erased": True}),
    (pol.SUPPRESSED, {"suppressed": True}),
    (pol.CHANNEL_NOT_ALLOWED, {"purpose": "survey", "channel": "prerecorded"}),
    (pol.CHANNEL_NOT_ALLOWED, {"channel": "fax"}),
    (pol.NO_CONSENT, {"consent": None}),
    (pol.NO_CONSENT, {"consent": consent(given_at=NOON_SHANGHAI + H)}),
    (pol.CONSENT_WITHDRAWN, {"consent": consent(status="withdrawn", withdrawn_at=NOON_SHANGHAI - H)}),
    (pol.CONSENT_WITHDRAWN, {"consent": consent(withdrawn_at=NOON_SHANGHAI)}),
    (pol.CONSENT_WITHDRAWN, {"purpose": "service", "consent": consent(status="withdrawn")}),
    (pol.CONSENT_EXPIRED, {"consent": consent(status="expired")}),
    (pol.CONSENT_EXPIRED, {"consent": consent(expires_at=NOON_SHANGHAI)}),
    (pol.CHANNEL_NOT_CONSENTED, {"consent": consent(channels=frozenset({"sms"}))}),
    (pol.QUIET_HOURS, {"callee_time_zones": ()}),
    (pol.QUIET_HOURS, {"callee_time_zones": ("Mars/Olympus_Mons",)}),
    (pol.FREQUENCY_CAP, {"attempt_times": (NOON_SHANGHAI - H,) * 3}),
    (pol.CALLER_LINE_NOT_REGISTERED, {"caller_line": None}),
    (pol.CALLER_LINE_NOT_REGISTERED, {"caller_line": caller_line(in_campaign=False)}),
    (pol.CALLER_LINE_NOT_REGISTERED, {"caller_line": caller_line(registered=False)}),
    (pol.CALLER_LINE_NOT_WHITELISTED, {"caller_line": caller_line(whitelist_status="pending")}),
    (pol.CALLER_LINE_NOT_WHITELISTED, {"caller_line": caller_line(whitelisted_until=NOON_SHANGHAI)}),
]


@pytest.mark.parametrize(("reason", "changes"), CASES, ids=[f"{r}-{i}" for i, (r, _) in enumerate(CASES)])
def test_each_deny_fact_gives_its_reason(shipped: PolicySet, reason: str, changes: dict[str, Any]) -> None:
    got = reasons(shipped, facts(**changes))
    if changes.get("channel") == "fax":  # not allowed by the purpose, and not consented either
        assert got == (reason, pol.CHANNEL_NOT_CONSENTED)
    else:
        assert got == (reason,)


def test_refusal_cooloff_and_licence_missing_and_policy_error(shipped: PolicySet) -> None:
    # France: 60 days after a refusal (a Monday at 11:00 Paris).
    monday = utc(2026, 3, 2, 10)
    assert allowed(shipped, fr(), monday)
    assert reasons(shipped, fr(last_refusal_at=monday - timedelta(days=59)), monday) == (pol.REFUSAL_COOLOFF,)
    assert allowed(shipped, fr(last_refusal_at=monday - timedelta(days=60)), monday)
    # Licence requirement switched on by the tenant.
    enforced = shipped.with_overrides({"licences_enforced": True})
    assert reasons(enforced, facts()) == (pol.LICENCE_MISSING,)
    # Naive `now` or broken facts: deny, never allow.
    assert reasons(shipped, facts(), NOON_SHANGHAI.replace(tzinfo=None)) == (pol.POLICY_ERROR,)
    broken = facts(attempt_times=(NOON_SHANGHAI.replace(tzinfo=None),))
    assert reasons(shipped, broken) == (pol.POLICY_ERROR,)


def test_every_reason_code_is_covered_by_a_test() -> None:
    covered = {reason for reason, _ in CASES} | {pol.REFUSAL_COOLOFF, pol.LICENCE_MISSING, pol.POLICY_ERROR}
    assert covered == set(pol.REASON_PRIORITY)


def test_all_reasons_are_reported_in_priority_order(shipped: PolicySet) -> None:
    dial = facts(
        handle_state="expired",
        campaign_open=False,
        contact_erased=True,
        suppressed=True,
        consent=None,
        callee_time_zones=(),
        attempt_times=(NOON_SHANGHAI,) * 5,
        caller_line=None,
    )
    got = reasons(shipped.with_overrides({"licences_enforced": True}), dial)
    assert got == (
        pol.HANDLE_EXPIRED,
        pol.CAMPAIGN_CLOSED,
        pol.ERASED,
        pol.SUPPRESSED,
        pol.NO_CONSENT,
        pol.QUIET_HOURS,
        pol.FREQUENCY_CAP,
        pol.CALLER_LINE_NOT_REGISTERED,
        pol.LICENCE_MISSING,
    )
    assert list(got) == sorted(got, key=pol.REASON_PRIORITY.index)


def test_service_needs_no_consent_but_autodialing_in_the_us_does(shipped: PolicySet) -> None:
    assert allowed(shipped, facts(purpose="service", consent=None))
    noon_ny = utc(2026, 3, 4, 17)
    assert allowed(shipped, us(purpose="service", consent=None), noon_ny)
    assert reasons(shipped, us(purpose="service", consent=None, channel="voice_autodialer"), noon_ny) == (
        pol.NO_CONSENT,
    )


# -- calling windows ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "ok"),
    [
        (utc(2026, 3, 2, 0, 0), True),  # 08:00 Shanghai
        (utc(2026, 3, 1, 23, 59, 59), False),  # 07:59:59
        (utc(2026, 3, 2, 12, 59, 59), True),  # 20:59:59
        (utc(2026, 3, 2, 13, 0), False),  # 21:00
        (utc(2026, 3, 2, 18, 0), False),  # 02:00 at night
    ],
)
def test_night_and_day_in_shanghai(shipped: PolicySet, now: datetime, ok: bool) -> None:
    assert allowed(shipped, facts(), now) is ok
    if not ok:
        assert reasons(shipped, facts(), now) == (pol.QUIET_HOURS,)


def test_a_number_spanning_zones_must_be_inside_every_window(shipped: PolicySet) -> None:
    both = ("America/New_York", "America/Chicago")
    at_0830_eastern = utc(2026, 3, 4, 13, 30)  # 07:30 Central
    assert allowed(shipped, us(purpose="service"), at_0830_eastern)
    assert reasons(shipped, us(purpose="service", callee_time_zones=both), at_0830_eastern) == (pol.QUIET_HOURS,)
    assert allowed(shipped, us(purpose="service", callee_time_zones=both), at_0830_eastern + H)


@pytest.mark.parametrize(
    ("local", "now", "ok"),
    [
        # New York spring forward, Sunday 2026-03-08 (EST -> EDT at 02:00).
        ("07:59:59 EDT", utc(2026, 3, 8, 11, 59, 59), False),
        ("08:00 EDT", utc(2026, 3, 8, 12), True),
        ("20:59:59 EDT", utc(2026, 3, 9, 0, 59, 59), True),
        ("21:00 EDT", utc(2026, 3, 9, 1), False),
        # New York fall back, Sunday 2026-11-01 (EDT -> EST at 02:00).
        ("07:59:59 EST", utc(2026, 11, 1, 12, 59, 59), False),
        ("08:00 EST", utc(2026, 11, 1, 13), True),
        ("20:59:59 EST", utc(2026, 11, 2, 1, 59, 59), True),
        ("21:00 EST", utc(2026, 11, 2, 2), False),
    ],
)
def test_dst_in_new_york(shipped: PolicySet, local: str, now: datetime, ok: bool) -> None:
    assert allowed(shipped, us(purpose="service"), now) is ok, local


@pytest.mark.parametrize(
    ("local", "now", "ok"),
    [
        # Paris spring forward, Sunday 2026-03-29 (CET -> CEST), default window for service calls.
        ("07:59:59 CEST", utc(2026, 3, 29, 5, 59, 59), False),
        ("08:00 CEST", utc(2026, 3, 29, 6), True),
        ("20:59:59 CEST", utc(2026, 3, 29, 18, 59, 59), True),
        ("21:00 CEST", utc(2026, 3, 29, 19), False),
        # Paris fall back, Sunday 2026-10-25 (CEST -> CET).
        ("07:59:59 CET", utc(2026, 10, 25, 6, 59, 59), False),
        ("08:00 CET", utc(2026, 10, 25, 7), True),
        ("20:59:59 CET", utc(2026, 10, 25, 19, 59, 59), True),
        ("21:00 CET", utc(2026, 10, 25, 20), False),
    ],
)
def test_dst_in_paris(shipped: PolicySet, local: str, now: datetime, ok: bool) -> None:
    assert allowed(shipped, fr(purpose="service", consent=None), now) is ok, local


@pytest.mark.parametrize(
    ("local", "now", "ok"),
    [
        ("Mon 30 Mar 09:59:59 CEST", utc(2026, 3, 30, 7, 59, 59), False),
        ("Mon 30 Mar 10:00 CEST", utc(2026, 3, 30, 8), True),
        ("Mon 30 Mar 12:59:59 (lunch gap next)", utc(2026, 3, 30, 10, 59, 59), True),
        ("Mon 30 Mar 13:00", utc(2026, 3, 30, 11), False),
        ("Mon 30 Mar 13:59:59", utc(2026, 3, 30, 11, 59, 59), False),
        ("Mon 30 Mar 14:00", utc(2026, 3, 30, 12), True),
        ("Mon 30 Mar 19:59:59", utc(2026, 3, 30, 17, 59, 59), True),
        ("Mon 30 Mar 20:00", utc(2026, 3, 30, 18), False),
        ("Sat 18 Jul 11:00", utc(2026, 7, 18, 9), False),
        ("Sun 19 Jul 11:00", utc(2026, 7, 19, 9), False),
        ("Tue 14 Jul 11:00 (Fête nationale)", utc(2026, 7, 14, 9), False),
        ("Wed 15 Jul 11:00", utc(2026, 7, 15, 9), True),
    ],
)
def test_france_canvassing_window(shipped: PolicySet, local: str, now: datetime, ok: bool) -> None:
    assert allowed(shipped, fr(), now) is ok, local
    # The décret covers canvassing; a service call on a public holiday at 11:00 is fine.
    assert allowed(shipped, fr(purpose="service", consent=None), now) is (8 <= now.astimezone(_PARIS).hour < 21)


_PARIS = __import__("zoneinfo").ZoneInfo("Europe/Paris")


def test_florida_closes_at_eight(shipped: PolicySet) -> None:
    at_1959 = utc(2026, 3, 4, 0, 59, 59)  # Tue 19:59:59 EST
    assert allowed(shipped, us("America/New_York", "US-FL"), at_1959)
    assert reasons(shipped, us("America/New_York", "US-FL"), at_1959 + timedelta(seconds=1)) == (pol.QUIET_HOURS,)
    # New York has no such statute; an unknown state gets the strictest (all state files).
    assert allowed(shipped, us("America/New_York", "US-NY"), at_1959 + H / 2)
    assert not allowed(shipped, us("America/New_York"), at_1959 + H / 2)
    # Service calls are not telephone solicitations.
    assert allowed(shipped, us("America/New_York", "US-FL", purpose="service"), at_1959 + H / 2)


def test_campaign_window_tightens_the_policy(shipped: PolicySet) -> None:
    window = WindowOverride(start=time(10), end=time(12), days=frozenset(range(5)))
    dial = facts(campaign_window=window)
    assert allowed(shipped, dial, utc(2026, 3, 2, 3, 59, 59))  # 11:59:59 Shanghai, Monday
    assert reasons(shipped, dial, NOON_SHANGHAI) == (pol.QUIET_HOURS,)
    assert not allowed(shipped, dial, utc(2026, 3, 7, 3))  # Saturday 11:00
    # A campaign window never widens the policy window.
    wide = facts(campaign_window=WindowOverride(start=time(0), end=time(23, 59), days=frozenset(range(7))))
    assert not allowed(shipped, wide, utc(2026, 3, 2, 14))  # 22:00 Shanghai


# -- frequency caps -----------------------------------------------------------------------------------


def test_cap_allows_the_third_attempt_and_denies_the_fourth(shipped: PolicySet) -> None:
    now = NOON_SHANGHAI
    two = (now - 3 * H, now - 2 * H)
    assert allowed(shipped, facts(attempt_times=two), now)
    assert reasons(shipped, facts(attempt_times=(*two, now - H)), now) == (pol.FREQUENCY_CAP,)
    # An attempt exactly one period (24 h) ago no longer counts.
    assert allowed(shipped, facts(attempt_times=(*two, now - 24 * H)), now)
    assert not allowed(shipped, facts(attempt_times=(*two, now - 24 * H + timedelta(microseconds=1))), now)
    # Caps are per purpose: service calls have no shipped cap.
    assert allowed(shipped, facts(purpose="service", attempt_times=(now - H,) * 10), now)


def test_attempts_stamped_after_now_still_count_against_the_cap(shipped: PolicySet) -> None:
    # A concurrent gateway may commit an attempt stamped a few milliseconds after this request's `now`.
    now = NOON_SHANGHAI
    later = now + timedelta(milliseconds=30)
    assert reasons(shipped, facts(attempt_times=(now - 2 * H, now - H, later)), now) == (pol.FREQUENCY_CAP,)


def test_france_four_calls_per_thirty_days(shipped: PolicySet) -> None:
    now = utc(2026, 3, 30, 9)  # Monday 11:00 Paris
    days = timedelta(days=1)
    three = (now - 2 * days, now - 9 * days, now - 20 * days)
    assert allowed(shipped, fr(attempt_times=three), now)
    assert reasons(shipped, fr(attempt_times=(*three, now - 29 * days)), now) == (pol.FREQUENCY_CAP,)
    assert allowed(shipped, fr(attempt_times=(*three, now - 30 * days)), now)


def test_campaign_caps_apply_too(shipped: PolicySet) -> None:
    caps = (CapOverride(max_attempts=1, period=timedelta(days=7)),)
    assert allowed(shipped, facts(campaign_caps=caps))
    assert not allowed(shipped, facts(campaign_caps=caps, attempt_times=(NOON_SHANGHAI - 100 * H,)))
    assert not allowed(shipped, facts(campaign_caps=(CapOverride(0, timedelta(days=1)),)))


def test_debt_collection_cap_in_the_us(shipped: PolicySet) -> None:
    now = utc(2026, 3, 4, 17)
    seven = tuple(now - timedelta(hours=20 * i + 1) for i in range(7))
    assert allowed(shipped, us(purpose="collections", attempt_times=seven[:6]), now)
    assert reasons(shipped, us(purpose="collections", attempt_times=seven), now) == (pol.FREQUENCY_CAP,)


# -- licences, tenant purposes, effective dates ------------------------------------------------------


def test_licences_only_when_enforced(shipped: PolicySet) -> None:
    enforced = shipped.with_overrides({"licences_enforced": True})
    assert allowed(shipped, facts())
    assert reasons(enforced, facts()) == (pol.LICENCE_MISSING,)
    assert allowed(enforced, facts(licences=(licence(),)))
    assert not allowed(enforced, facts(licences=(licence(valid_until=NOON_SHANGHAI),)))
    assert not allowed(enforced, facts(licences=(licence(valid_from=NOON_SHANGHAI + H),)))
    assert not allowed(enforced, facts(licences=(licence(purposes=frozenset({"service"})),)))
    assert not allowed(enforced, facts(licences=(licence(kind="cn_financial"),)))
    # Licence rules are CN rules: a US call needs none.
    assert allowed(enforced, us(), utc(2026, 3, 4, 17))


def test_tenant_insurance_purpose_gets_the_cn_insurance_rules(shipped: PolicySet) -> None:
    tenant = shipped.with_overrides(INSURANCE)
    dial = facts(purpose="insurance_sales")
    assert reasons(tenant, dial, utc(2026, 3, 2, 0, 30)) == (pol.QUIET_HOURS,)  # 08:30 Shanghai
    assert allowed(tenant, dial, utc(2026, 3, 2, 1))  # 09:00
    refused = replace(dial, last_refusal_at=NOON_SHANGHAI - timedelta(days=150))
    assert reasons(tenant, refused) == (pol.REFUSAL_COOLOFF,)
    assert tenant.refusal_cooloff("insurance_sales", ["CN"]) == timedelta(days=186)
    enforced = tenant.with_overrides({**INSURANCE, "licences_enforced": True})
    both = (
        licence(purposes=frozenset({"insurance_sales"})),
        licence(kind="cn_financial", purposes=frozenset({"insurance_sales"})),
    )
    assert reasons(enforced, replace(dial, licences=both[:1])) == (pol.LICENCE_MISSING,)
    assert allowed(enforced, replace(dial, licences=both))


def test_tenant_overrides_tighten_windows_and_caps(shipped: PolicySet) -> None:
    rule = {"source": "tenant policy", "status": "tenant", "effective_from": "2026-01-01"}
    tenant = shipped.with_overrides(
        {
            "jurisdiction": {
                "CN": {
                    "window": [{**rule, "id": "acme.cn.window", "periods": [["09:00", "18:00"]]}],
                    "cap": [{**rule, "id": "acme.cn.cap", "max_attempts": 1, "period": "24h", "purposes": ["service"]}],
                }
            }
        }
    )
    assert allowed(shipped, facts(), utc(2026, 3, 2, 11))  # 19:00 Shanghai
    assert not allowed(tenant, facts(), utc(2026, 3, 2, 11))
    assert not allowed(tenant, facts(purpose="service", attempt_times=(NOON_SHANGHAI - H,)))
    # Not yet in force before 2026-01-01.
    assert allowed(tenant, facts(consent=consent(given_at=utc(2025, 1, 1))), utc(2025, 12, 31, 11))


def test_rules_not_yet_in_force_are_ignored(shipped: PolicySet) -> None:
    saturday_before = utc(2023, 2, 25, 10)  # the décret applies from 2023-03-01
    saturday_after = utc(2023, 3, 4, 10)
    old = fr(consent=consent(given_at=utc(2022, 1, 1), expires_at=None))
    assert allowed(shipped, old, saturday_before)
    assert reasons(shipped, old, saturday_after) == (pol.QUIET_HOURS,)
    # Maryland's 20:00 limit starts 2024-01-01.
    md = us("America/New_York", "US-MD", consent=consent(given_at=utc(2022, 1, 1), expires_at=None))
    assert allowed(shipped, md, utc(2023, 12, 28, 1, 30))  # Wed 20:30 EST
    assert not allowed(shipped, md, utc(2024, 1, 4, 1, 30))


def test_effective_to_retires_a_rule(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(SHIPPED, tmp_path / "p")
    (tmp_path / "p" / "XX.toml").write_text(
        """
[jurisdiction]
code = "XX"
name = "Test land"

[[window]]
id = "xx.window"
periods = [["12:00", "13:00"]]
source = "test rule"
status = "draft"
effective_from = 2026-03-01
effective_to = 2026-04-01
""",
        encoding="utf-8",
    )
    policy = load_policy_set(tmp_path / "p")
    dial = facts(callee_region="XX", callee_time_zones=("UTC",))
    assert not allowed(policy, dial, utc(2026, 3, 10, 10))
    assert allowed(policy, dial, utc(2026, 3, 10, 12))
    assert allowed(policy, dial, utc(2026, 4, 1, 10))
    assert allowed(policy, dial, utc(2026, 2, 28, 10))
