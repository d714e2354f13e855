"""The policy answers data-subject requests, erasure and retention need, with the sources they rest on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from ...policy import PolicySet
from .._context import Vault

__all__ = ["CONSENTS_STAY_WITH_NUMBER", "DNC_SURVIVES_ERASURE", "RequestRules", "Retention", "rules_for"]

# Design invariants rather than jurisdiction rules: they hold for every tenant.
DNC_SURVIVES_ERASURE = (
    "a do-not-call request is honoured after erasure: 消费者权益保护法实施条例 Art 24 (stop at once when the "
    "consumer refuses); 47 CFR 64.1200(d)(3),(6) (internal do-not-call honoured, kept 5 years)"
)
CONSENTS_STAY_WITH_NUMBER = "consent was given for the old number (PIPL Art 14, GDPR Art 7): ask again for the new one"


@dataclass(frozen=True, slots=True)
class Retention:
    """How long records of one kind are kept after they end, and the rule that says so."""

    period: timedelta | None  # None: no rule requires keeping them
    source: str


class RequestRules:
    """A tenant's policy set narrowed to the questions of this package."""

    def __init__(self, policy: PolicySet) -> None:
        self._policy = policy

    def jurisdictions_for(self, region: str | None, subdivisions: Iterable[str]) -> list[str]:
        return sorted(self._policy.jurisdictions_for(region, subdivisions))

    def due_at(self, jurisdictions: Sequence[str], request_type: str, received_at: datetime) -> datetime:
        return self._policy.dsr_due_at(jurisdictions, request_type, received_at)

    def extended_due_at(
        self, jurisdictions: Sequence[str], request_type: str, received_at: datetime
    ) -> datetime | None:
        """The latest due date an extension may set, or None when no applicable regime allows one."""
        limit = self._policy.dsr_extension_limit(jurisdictions, request_type, received_at)
        return limit if limit > self.due_at(jurisdictions, request_type, received_at) else None

    def retention(self, kind: str, jurisdictions: Sequence[str] = ()) -> Retention:
        period, sources = self._policy.retention_basis(kind, jurisdictions)
        return Retention(period, "; ".join(sources) if sources else "no retention rule")

    def suppression_basis(self, jurisdictions: Sequence[str] = ()) -> str:
        """Why a do-not-call entry (blind index only) always outlives erasure: the rules that require it."""
        rule = self.retention("suppression", jurisdictions)
        return rule.source if rule.period is not None else DNC_SURVIVES_ERASURE


def rules_for(session: Session, vault: Vault, tenant_id: str) -> RequestRules:
    return RequestRules(vault.policies.for_tenant(session, tenant_id))
