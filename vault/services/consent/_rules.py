"""The few policy facts consent capture needs, read from the tenant's policy set."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from ...errors import InvalidInput
from ...policy import PolicySet, Purpose, UnknownPurpose
from .._context import Vault
from .._phone import number_facts

__all__ = ["ConsentRules", "PurposeRules", "rules_for"]


@dataclass(frozen=True, slots=True)
class PurposeRules:
    name: str
    channels: frozenset[str]
    explicit: bool
    category: tuple[str, ...]


class ConsentRules:
    """A tenant's policy set, narrowed to what consent capture asks of it (cached per call site)."""

    def __init__(self, policy: PolicySet) -> None:
        self._policy = policy
        self._purposes: dict[str, PurposeRules | None] = {}
        # One object per distinct expiry or channel list: a batch's rows share them, and storing converts each once.
        self._expiries: dict[tuple[str, datetime], datetime | None] = {}
        self._channels: dict[tuple[str, tuple[str, ...]], list[str]] = {}

    def purpose(self, name: str) -> PurposeRules | None:
        if name in self._purposes:
            return self._purposes[name]
        try:
            found: Purpose | None = self._policy.purpose(name)
        except UnknownPurpose:
            found = None
        rules = None if found is None else _purpose_rules(name, found)
        self._purposes[name] = rules
        return rules

    def require_purpose(self, name: str, field: str = "purpose") -> PurposeRules:
        rules = self.purpose(name)
        if rules is None:
            raise InvalidInput("the purpose is not defined by policy", code="unknown_purpose", field=field)
        return rules

    def channels(self, purpose: PurposeRules, channels: Sequence[str]) -> list[str]:
        """The channels a consent names, each once, if the purpose allows them all."""
        key = (purpose.name, tuple(channels))
        try:
            found = self._channels.get(key)
        except TypeError:  # an unhashable entry: not a channel name, refused below
            found = None
        if found is not None:
            return found
        if not channels or any(not isinstance(c, str) for c in channels):
            raise InvalidInput("name at least one channel", code="invalid_request", field="channels")
        found = list(dict.fromkeys(channels))
        if purpose.channels and any(c not in purpose.channels for c in found):
            message = "a channel is not allowed for this purpose"
            raise InvalidInput(message, code="channel_not_allowed", field="channels")
        self._channels[key] = found
        return found

    def consent_expiry(self, purpose: str, given_at: datetime) -> datetime | None:
        key = (purpose, given_at)
        if key not in self._expiries:
            self._expiries[key] = self._policy.consent_expiry(purpose, given_at)
        return self._expiries[key]

    def complaint_due_at(self, e164: str, received_at: datetime, jurisdiction: str | None = None) -> datetime:
        """Due date under every regime that covers the complainant's number (and a named one)."""
        facts = number_facts(e164)
        codes = self._policy.jurisdictions_for(facts.region, facts.subdivisions)
        return self._policy.complaint_due_at((*codes, jurisdiction) if jurisdiction else codes, received_at)


def _purpose_rules(name: str, purpose: Purpose) -> PurposeRules:
    return PurposeRules(
        name=name,
        channels=purpose.channels,
        explicit=purpose.requires_explicit_consent,
        category=purpose.category or (name,),
    )


def rules_for(session: Session, vault: Vault, tenant_id: str) -> ConsentRules:
    return ConsentRules(vault.policies.for_tenant(session, tenant_id))
