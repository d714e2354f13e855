"""The pure policy engine: purposes, jurisdiction rules loaded from TOML, and `decide`.

Imports nothing from the rest of dialvault. See docs/policies.md for the file format and every shipped rule.
"""

from __future__ import annotations

from ._engine import decide
from ._errors import NoApplicableRule, PolicyFileError, UnknownPurpose
from ._facts import CallerLineFact, CapOverride, ConsentFact, Decision, DialFacts, LicenceFact, WindowOverride
from ._loader import load_policy_set
from ._model import CHANNELS, Citation, MethodRequirement, Purpose, ScreeningRule, parse_duration
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
    REASON_PRIORITY,
    REFUSAL_COOLOFF,
    SUPPRESSED,
    UNKNOWN_HANDLE,
    UNKNOWN_PURPOSE,
)

__all__ = [
    "CALLER_LINE_NOT_REGISTERED",
    "CALLER_LINE_NOT_WHITELISTED",
    "CAMPAIGN_CLOSED",
    "CHANNELS",
    "CHANNEL_NOT_ALLOWED",
    "CHANNEL_NOT_CONSENTED",
    "CONSENT_EXPIRED",
    "CONSENT_WITHDRAWN",
    "ERASED",
    "FREQUENCY_CAP",
    "HANDLE_EXPIRED",
    "LICENCE_MISSING",
    "NO_CONSENT",
    "POLICY_ERROR",
    "QUIET_HOURS",
    "REASON_PRIORITY",
    "REFUSAL_COOLOFF",
    "SUPPRESSED",
    "UNKNOWN_HANDLE",
    "UNKNOWN_PURPOSE",
    "CallerLineFact",
    "CapOverride",
    "Citation",
    "ConsentFact",
    "Decision",
    "DialFacts",
    "LicenceFact",
    "MethodRequirement",
    "NoApplicableRule",
    "Plan",
    "PolicyFileError",
    "PolicySet",
    "Purpose",
    "ScreeningRule",
    "UnknownPurpose",
    "WindowOverride",
    "decide",
    "load_policy_set",
    "parse_duration",
]
