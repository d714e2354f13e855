"""The pure decision: may this call be placed now? Deny wins; every failing reason is reported."""

from __future__ import annotations

from datetime import datetime

from ._calendar import is_public_holiday, zone
from ._facts import Decision, DialFacts
from ._model import Purpose
from ._policyset import Plan, PolicySet
from ._reasons import (
    CALLER_LINE_NOT_REGISTERED,
    CALLER_LINE_NOT_WHITELISTED,
    CAMPAIGN_CLOSED,
    CHANNEL_NOT_ALLOWED,
    CHANNEL_NOT_CONSENTED,
    CONSENT_EXPIRED,
    CONSENT_WITHDRAWN,
    ERASED,
    FREQUENCY_CAP,
    HANDLE_EXPIRED,
    LICENCE_MISSING,
    NO_CONSENT,
    POLICY_ERROR,
    QUIET_HOURS,
    REFUSAL_COOLOFF,
    SUPPRESSED,
    UNKNOWN_HANDLE,
    UNKNOWN_PURPOSE,
)

__all__ = ["decide"]

_ALLOW = Decision(True, ())
_ERROR = Decision(False, (POLICY_ERROR,))


def decide(policy: PolicySet, facts: DialFacts, now: datetime) -> Decision:
    """Allow, or deny with reasons in the fixed priority order of `REASON_PRIORITY`.

    `now` must be timezone-aware; any error while evaluating (bad facts included) is a deny `policy_error`."""
    try:
        if now.tzinfo is None:
            return _ERROR
        reasons = _evaluate(policy, facts, now)
    except Exception:
        return _ERROR
    return Decision(False, tuple(reasons)) if reasons else _ALLOW


def _evaluate(policy: PolicySet, facts: DialFacts, now: datetime) -> list[str]:
    reasons: list[str] = []
    purpose = policy._purposes.get(facts.purpose)
    if purpose is None:
        reasons.append(UNKNOWN_PURPOSE)
    state = facts.handle_state
    if state != "valid":
        reasons.append(HANDLE_EXPIRED if state in ("expired", "revoked") else UNKNOWN_HANDLE)
    if not facts.campaign_open:
        reasons.append(CAMPAIGN_CLOSED)
    if facts.contact_erased:
        reasons.append(ERASED)
    if facts.suppressed and (purpose is None or purpose.honours_suppression):
        reasons.append(SUPPRESSED)
    plan: Plan | None = None
    if purpose is not None:
        if facts.channel not in purpose.allowed_channels:
            reasons.append(CHANNEL_NOT_ALLOWED)
        jurisdictions = policy.jurisdictions_for(facts.callee_region, facts.callee_subdivisions)
        plan = policy.plan(jurisdictions, purpose, facts.channel)
        _check_consent(purpose, plan, facts, now, reasons)
        _check_cooloff(plan, facts, now, reasons)
        if not _inside_windows(plan, facts, now):
            reasons.append(QUIET_HOURS)
        if _over_cap(plan, facts, now):
            reasons.append(FREQUENCY_CAP)
    line = facts.caller_line
    if line is None or not line.registered or not line.in_campaign:
        reasons.append(CALLER_LINE_NOT_REGISTERED)
    elif line.whitelist_status != "approved" or (line.whitelisted_until is not None and line.whitelisted_until <= now):
        reasons.append(CALLER_LINE_NOT_WHITELISTED)
    if purpose is not None and plan is not None and not _licensed(policy, plan, purpose, facts, now):
        reasons.append(LICENCE_MISSING)
    return reasons


def _check_consent(purpose: Purpose, plan: Plan, facts: DialFacts, now: datetime, reasons: list[str]) -> None:
    consent = facts.consent
    withdrawn = consent is not None and (
        consent.status == "withdrawn" or (consent.withdrawn_at is not None and consent.withdrawn_at <= now)
    )
    required = purpose.legal_basis == "consent" or any(r.in_force(now) for r in plan.consent_requirements)
    if not required:
        if withdrawn:  # an objection to a purpose that needs no consent still stops the calls
            reasons.append(CONSENT_WITHDRAWN)
        return
    if consent is None:
        reasons.append(NO_CONSENT)
    elif withdrawn:
        reasons.append(CONSENT_WITHDRAWN)
    elif consent.status == "expired" or (consent.expires_at is not None and consent.expires_at <= now):
        reasons.append(CONSENT_EXPIRED)
    elif consent.status != "granted" or consent.given_at > now:
        reasons.append(NO_CONSENT)
    elif facts.channel not in consent.channels:
        reasons.append(CHANNEL_NOT_CONSENTED)


def _check_cooloff(plan: Plan, facts: DialFacts, now: datetime, reasons: list[str]) -> None:
    refused = facts.last_refusal_at
    if refused is None or not plan.cooloffs:
        return
    for rule in plan.cooloffs:
        if rule.in_force(now) and refused <= now < refused + rule.period:
            reasons.append(REFUSAL_COOLOFF)
            return


def _inside_windows(plan: Plan, facts: DialFacts, now: datetime) -> bool:
    """Inside every in-force window (and the campaign's) in every candidate zone of the callee."""
    zones = facts.callee_time_zones
    if not zones:
        return False
    campaign = facts.campaign_window
    for name in zones:
        try:
            local = now.astimezone(zone(name))
        except Exception:  # unknown zone name: most restrictive
            return False
        weekday = local.weekday()
        seconds = local.hour * 3600 + local.minute * 60 + local.second
        for window in plan.windows:
            rule = window.rule
            if rule.effective_from > now or (rule.effective_to is not None and now >= rule.effective_to):
                continue
            if weekday not in window.days:
                return False
            for start, end in window.periods:
                if start <= seconds < end:
                    break
            else:
                return False
            if window.holiday_country is not None and _holiday(local, window.holiday_country, facts):
                return False
        if campaign is not None:
            start = campaign.start.hour * 3600 + campaign.start.minute * 60 + campaign.start.second
            end = campaign.end.hour * 3600 + campaign.end.minute * 60 + campaign.end.second
            if weekday not in campaign.days or not start <= seconds < end:
                return False
    return True


def _holiday(local: datetime, country: str, facts: DialFacts) -> bool:
    prefix = country + "-"
    subdiv = next((s[len(prefix) :] for s in sorted(facts.callee_subdivisions) if s.startswith(prefix)), None)
    return is_public_holiday(local.date(), country, subdiv)


def _over_cap(plan: Plan, facts: DialFacts, now: datetime) -> bool:
    attempts = facts.attempt_times
    for rule in plan.caps:
        if rule.effective_from > now or (rule.effective_to is not None and now >= rule.effective_to):
            continue
        if _count(attempts, now - rule.period) >= rule.max_attempts:
            return True
    for cap in facts.campaign_caps:
        if cap.max_attempts <= 0 or _count(attempts, now - cap.period) >= cap.max_attempts:
            return True
    return False


def _count(attempts: tuple[datetime, ...], since: datetime) -> int:
    """Attempts after `since`. No upper bound: a concurrent gateway's attempt may carry a timestamp a few
    milliseconds later than this request's `now`, and it must still count against the cap."""
    return sum(1 for at in attempts if at > since)


def _licensed(policy: PolicySet, plan: Plan, purpose: Purpose, facts: DialFacts, now: datetime) -> bool:
    for rule in plan.licences:
        if not (rule.enforced or policy.licences_enforced) or not rule.in_force(now):
            continue
        if not any(
            held.kind in rule.kinds
            and purpose.name in held.purposes
            and held.valid_from <= now
            and (held.valid_until is None or now < held.valid_until)
            for held in facts.licences
        ):
            return False
    return True
