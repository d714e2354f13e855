"""Stable deny reason codes and their fixed priority order (the first reported reason is the primary one)."""

from __future__ import annotations

__all__ = [
    "CALLER_LINE_NOT_REGISTERED",
    "CALLER_LINE_NOT_WHITELISTED",
    "CAMPAIGN_CLOSED",
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
]

UNKNOWN_PURPOSE = "unknown_purpose"
UNKNOWN_HANDLE = "unknown_handle"
HANDLE_EXPIRED = "handle_expired"
CAMPAIGN_CLOSED = "campaign_closed"
ERASED = "erased"
SUPPRESSED = "suppressed"
CHANNEL_NOT_ALLOWED = "channel_not_allowed"
NO_CONSENT = "no_consent"
CONSENT_WITHDRAWN = "consent_withdrawn"
CONSENT_EXPIRED = "consent_expired"
CHANNEL_NOT_CONSENTED = "channel_not_consented"
REFUSAL_COOLOFF = "refusal_cooloff"
QUIET_HOURS = "quiet_hours"
FREQUENCY_CAP = "frequency_cap"
CALLER_LINE_NOT_REGISTERED = "caller_line_not_registered"
CALLER_LINE_NOT_WHITELISTED = "caller_line_not_whitelisted"
LICENCE_MISSING = "licence_missing"
POLICY_ERROR = "policy_error"

#: Every reason code, in the order `decide` reports them. Documented in docs/policies.md.
REASON_PRIORITY: tuple[str, ...] = (
    UNKNOWN_PURPOSE,
    UNKNOWN_HANDLE,
    HANDLE_EXPIRED,
    CAMPAIGN_CLOSED,
    ERASED,
    SUPPRESSED,
    CHANNEL_NOT_ALLOWED,
    NO_CONSENT,
    CONSENT_WITHDRAWN,
    CONSENT_EXPIRED,
    CHANNEL_NOT_CONSENTED,
    REFUSAL_COOLOFF,
    QUIET_HOURS,
    FREQUENCY_CAP,
    CALLER_LINE_NOT_REGISTERED,
    CALLER_LINE_NOT_WHITELISTED,
    LICENCE_MISSING,
    POLICY_ERROR,
)
