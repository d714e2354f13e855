"""What dialing asks of the tenant's policy set: purposes and their channels."""

from __future__ import annotations

from sqlmodel import Session

from ...policy import PolicySet, Purpose, UnknownPurpose
from .._context import Vault

__all__ = ["DialRules", "dial_rules"]


class DialRules:
    def __init__(self, policy: PolicySet) -> None:
        self.policy = policy

    def purpose(self, name: str) -> Purpose | None:
        try:
            return self.policy.purpose(name)
        except UnknownPurpose:
            return None

    def purpose_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.policy.purposes)


def dial_rules(session: Session, vault: Vault, tenant_id: str) -> DialRules:
    return DialRules(vault.policies.for_tenant(session, tenant_id))
