"""The policy set in force for each tenant: shipped defaults plus the tenant's overrides."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session

from ..errors import ConfigurationError
from ..policy import PolicyFileError, PolicySet, load_policy_set
from ..storage import Prepared, Tx
from ..storage import tables as t

__all__ = ["TenantPolicies"]

_OVERRIDES = Prepared(select(t.tenants.c.policy_overrides).where(t.tenants.c.id == bindparam("tenant_id")))


class TenantPolicies:
    """Loads `policies/` once at start-up (a bad file stops start-up) and caches per-tenant views."""

    def __init__(self, directory: Path, ttl: float = 30.0) -> None:
        try:
            self.base = load_policy_set(directory)
        except PolicyFileError as exc:
            raise ConfigurationError(str(exc), code="policy_invalid") from None
        self._ttl = ttl
        self._cache: dict[str, tuple[PolicySet, float]] = {}
        self._lock = threading.Lock()

    def for_tenant(self, unit: Session | Tx, tenant_id: str) -> PolicySet:
        cached = self._cache.get(tenant_id)
        if cached is not None and time.monotonic() - cached[1] < self._ttl:
            return cached[0]
        row = _OVERRIDES.first(unit, {"tenant_id": tenant_id})
        overrides: dict[str, Any] | None = row.policy_overrides if row is not None else None
        try:
            policy = self.base.with_overrides(overrides) if overrides else self.base
        except PolicyFileError as exc:
            raise ConfigurationError(str(exc), code="policy_invalid") from None
        with self._lock:
            self._cache[tenant_id] = (policy, time.monotonic())
        return policy

    def forget(self, tenant_id: str) -> None:
        with self._lock:
            self._cache.pop(tenant_id, None)
