"""The few policy facts consent capture needs, read from the tenant's policy set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from ...errors import InvalidInput
from .._context import Vault

__all__ = ["ConsentRules", "PurposeRules", "rules_for"]


@dataclass(frozen=True, slots=True)
class PurposeRules:
    name: str
    channels: frozenset[str]
    explicit: bool
    category: tuple[str, ...]


class ConsentRules:
    """A tenant's policy set, narrowed to what consent capture asks of it (cached per call site)."""

    def __init__(self, policy: Any) -> None:
        self._policy = policy
        self._purposes: dict[str, PurposeRules | None] = {}

    def purpose(self, name: str) -> PurposeRules | None:
        if name in self._purposes:
            return self._purposes[name]
        if not hasattr(self._policy, "purpose"):  # interim: policy package not landed yet
            self._purposes[name] = _INTERIM.get(name)
            return self._purposes[name]
        try:
            found = self._policy.purpose(name)
        except (KeyError, LookupError, ValueError):
            found = None
        rules = None if found is None else _purpose_rules(name, found)
        self._purposes[name] = rules
        return rules

    def require_purpose(self, name: str, field: str = "purpose") -> PurposeRules:
        rules = self.purpose(name)
        if rules is None:
            raise InvalidInput("the purpose is not defined by policy", code="unknown_purpose", field=field)
        return rules

    def consent_expiry(self, purpose: str, given_at: datetime) -> datetime | None:
        if not hasattr(self._policy, "consent_expiry"):
            return given_at + timedelta(days=730)
        expiry: datetime | None = self._policy.consent_expiry(purpose, given_at)
        return expiry

    def complaint_due_at(self, received_at: datetime, jurisdiction: str | None = None) -> datetime:
        if not hasattr(self._policy, "complaint_due_at"):
            return received_at + timedelta(days=15)
        due: datetime = self._policy.complaint_due_at(received_at, jurisdiction)
        return due


def _purpose_rules(name: str, purpose: Any) -> PurposeRules:
    channels = frozenset(str(c) for c in getattr(purpose, "channels", ()) or ())
    explicit = bool(getattr(purpose, "requires_explicit_consent", getattr(purpose, "explicit_consent", True)))
    category = tuple(getattr(purpose, "category", ()) or ()) or (name,)
    return PurposeRules(name=name, channels=channels, explicit=explicit, category=category)


_INTERIM = {
    name: PurposeRules(name, frozenset({"voice", "sms"}), name != "service", (name,))
    for name in ("marketing", "service", "collections", "survey")
}


def rules_for(session: Session, vault: Vault, tenant_id: str) -> ConsentRules:
    return ConsentRules(vault.policies.for_tenant(session, tenant_id))
