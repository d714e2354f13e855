"""The running vault: settings, store, key provider, keyrings, policy and clock, wired once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..clock import Clock
from ..config import Settings
from ..crypto import KeyedDigester, KeyProvider
from ..storage import Database
from ._keyrings import KeyringCache
from ._policies import TenantPolicies

__all__ = ["Actor", "Vault", "indexes_by_tenant"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a tenant, an API key id (or a CLI label) and one role."""

    tenant_id: str
    key_id: str
    role: str


@dataclass(slots=True)
class Vault:
    settings: Settings
    database: Database
    provider: KeyProvider
    keyrings: KeyringCache
    clock: Clock
    api_key_digester: KeyedDigester  # API key → the digest it is stored under (HMAC under the pepper)
    policies: TenantPolicies


def indexes_by_tenant(requests: Sequence[tuple[Actor, Any]]) -> dict[str, list[int]]:
    """The positions of (actor, item) requests, grouped by the actor's tenant, in order."""
    grouped: dict[str, list[int]] = {}
    for index, (actor, _) in enumerate(requests):
        grouped.setdefault(actor.tenant_id, []).append(index)
    return grouped
