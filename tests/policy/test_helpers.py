"""DSR and complaint due dates, retention, consent expiry, cool-offs, jurisdiction selection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from vault.policy import PolicySet, UnknownPurpose

from .helpers import utc

SHANGHAI = ZoneInfo("Asia/Shanghai")


def cst(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SHANGHAI).astimezone(UTC)


def test_jurisdictions_for(shipped: PolicySet) -> None:
    assert shipped.jurisdictions_for("FR", []) == ("default", "FR", "EU")
    assert shipped.jurisdictions_for("US", {"US-FL"}) == ("default", "US", "US-FL")
    assert shipped.jurisdictions_for("US", {"US-NY"}) == ("default", "US")
    assert shipped.jurisdictions_for("US", []) == ("default", "US", "US-CA", "US-FL", "US-MD", "US-OK")
    assert shipped.jurisdictions_for("JP", []) == ("default",)
    assert shipped.jurisdictions_for(None, []) == ("default",)


def test_cn_dsr_counts_working_days_across_a_weekend(shipped: PolicySet) -> None:
    friday = cst(2026, 3, 6)
    assert shipped.dsr_due_at(["CN"], "access", friday) == cst(2026, 3, 27)  # 3 full weeks of Mon-Fri


def test_cn_dsr_skips_national_day_and_counts_the_make_up_saturday(shipped: PolicySet) -> None:
    # Oct 1-7 2026 are off; Sat Oct 10 is a make-up working day.
    received = cst(2026, 9, 30)
    working = [8, 9, 10, 12, 13, 14, 15, 16, 19, 20, 21, 22, 23, 26, 27]
    assert len(working) == 15
    assert shipped.dsr_due_at(["CN"], "erasure", received) == cst(2026, 10, working[-1])
    assert shipped.dsr_extension_limit(["CN"], "erasure", received) == cst(2026, 10, 27)


def test_gdpr_one_month_from_january_31_is_end_of_february(shipped: PolicySet) -> None:
    received = utc(2026, 1, 31, 9)
    assert shipped.dsr_due_at(["FR"], "access", received) == utc(2026, 2, 28, 9)
    assert shipped.dsr_due_at(["GB"], "access", received) == utc(2026, 2, 28, 9)
    assert shipped.dsr_extension_limit(["DE"], "access", received) == utc(2026, 4, 30, 9)
    assert shipped.dsr_due_at(["FR"], "access", utc(2028, 1, 31)) == utc(2028, 2, 29)


def test_ccpa_45_days_plus_45(shipped: PolicySet) -> None:
    received = utc(2026, 1, 1, 12)
    assert shipped.dsr_due_at(["US", "US-CA"], "access", received) == utc(2026, 2, 15, 12)
    assert shipped.dsr_extension_limit(["US-CA"], "access", received) == utc(2026, 4, 1, 12)


def test_earliest_due_date_wins_and_default_is_a_fallback(shipped: PolicySet) -> None:
    received = cst(2026, 3, 6)
    assert shipped.dsr_due_at(["CN", "FR"], "access", received) == cst(2026, 3, 27)  # CN beats one month
    # No specific rule: the default 15 working days (Mon-Fri).
    assert shipped.dsr_due_at(["JP"], "access", utc(2026, 3, 6)) == utc(2026, 3, 27)
    # A tenant may change the CN figure.
    rule = {"id": "acme.cn.dsr", "due": {"days": 30}, "source": "GB/T 35273-2020", "status": "standard"}
    tenant = shipped.with_overrides({"jurisdiction": {"CN": {"dsr": [{**rule, "effective_from": "2020-01-01"}]}}})
    assert tenant.dsr_due_at(["CN"], "access", received) == received + timedelta(days=30)


def test_complaint_due(shipped: PolicySet) -> None:
    received = utc(2026, 3, 2, 9)
    assert shipped.complaint_due_at(["CN"], received) == utc(2026, 3, 9, 9)
    assert shipped.complaint_due_at([], received) == utc(2026, 3, 9, 9)


def test_retention_longest_wins(shipped: PolicySet) -> None:
    five_years = timedelta(days=5 * 365 + 2)
    assert shipped.retention("consent_evidence", ["CN"]) == timedelta(days=3 * 365 + 1)
    assert shipped.retention("consent_evidence", ["DE"]) == five_years
    assert shipped.retention("consent_evidence", ["CN", "DE"]) == five_years
    assert shipped.retention("suppression", ["US"]) == five_years
    assert shipped.retention("call_attempt", ["CN"]) == timedelta(days=366)  # default 1 year beats MIIT 30 days
    # DE §7a is not in force before 2021-10-01.
    assert shipped.retention("consent_evidence", ["DE"], at=utc(2021, 1, 1)) == timedelta(days=3 * 365 + 1)


def test_retention_rules_limited_to_a_purpose(shipped: PolicySet) -> None:
    from .test_loader import INSURANCE

    tenant = shipped.with_overrides(INSURANCE)
    five_years = timedelta(days=5 * 365 + 2)
    assert tenant.retention("call_attempt", ["CN"], purpose="insurance_sales") == five_years
    assert tenant.retention("call_attempt", ["CN"], purpose="marketing") == timedelta(days=366)


def test_consent_expiry_and_cooloff(shipped: PolicySet) -> None:
    given = utc(2026, 1, 1)
    assert shipped.consent_expiry("marketing", given) == given + timedelta(days=730)
    assert shipped.consent_expiry("service", given) is None
    assert shipped.refusal_cooloff("marketing", ["FR"]) == timedelta(days=60)
    assert shipped.refusal_cooloff("marketing", ["CN"]) is None
    assert shipped.refusal_cooloff("marketing", ["FR"], at=utc(2023, 1, 1)) is None
    with pytest.raises(UnknownPurpose):
        shipped.refusal_cooloff("lottery", ["FR"])


def test_screening_registers(shipped: PolicySet) -> None:
    names = {rule.list_name for rule in shipped.screening(["GB", "US", "FR"])}
    assert names == {
        "Telephone Preference Service (TPS/CTPS)",
        "National Do Not Call Registry",
        "Bloctel opposition list",
    }
