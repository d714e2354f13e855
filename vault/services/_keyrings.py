"""Tenant keys: creation, unwrapping through the provider, an in-memory cache, rotation."""

from __future__ import annotations

import threading
import time
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlmodel import Session

from ..crypto import (
    DecryptionError,
    KeyFamily,
    KeyProvider,
    KeyProviderUnavailable,
    SecretBytes,
    TenantKeyring,
    VersionedKey,
    new_key_material,
)
from ..errors import NotFound, ServiceUnavailable
from ..storage import Prepared, Tx
from ..storage import tables as t
from ..storage.tables import TenantKey

__all__ = ["KeyringCache", "create_tenant_keys", "rotate_tenant_key", "tenant_key_context"]


def tenant_key_context(tenant_id: str, family: str, version: int) -> str:
    return f"tenant-key:{tenant_id}:{family}:{version}"


def _add_key(
    session: Session, provider: KeyProvider, tenant_id: str, family: KeyFamily, version: int, now: datetime
) -> None:
    material = new_key_material(family)
    wrapped = provider.wrap(material, context=tenant_key_context(tenant_id, family.value, version))
    session.add(
        TenantKey(
            tenant_id=tenant_id,
            family=family.value,
            version=version,
            wrapped=wrapped,
            provider=provider.name,
            created_at=now,
        )
    )


def create_tenant_keys(session: Session, provider: KeyProvider, tenant_id: str, now: datetime) -> None:
    for family in KeyFamily:
        _add_key(session, provider, tenant_id, family, 1, now)


def rotate_tenant_key(session: Session, provider: KeyProvider, tenant_id: str, family: KeyFamily, now: datetime) -> int:
    """Add a new version of a key family; the newest version encrypts from now on."""
    if family is KeyFamily.BLIND_INDEX:
        raise ValueError("the blind-index key is not rotated: suppressions keyed by it must keep matching")
    versions = (
        session.execute(
            select(t.tenant_keys.c.version).where(
                t.tenant_keys.c.tenant_id == tenant_id, t.tenant_keys.c.family == family.value
            )
        )
        .scalars()
        .all()
    )
    version = max(versions, default=0) + 1
    _add_key(session, provider, tenant_id, family, version, now)
    return version


_LIVE_KEYS = Prepared(
    select(t.tenant_keys.c.family, t.tenant_keys.c.version, t.tenant_keys.c.wrapped).where(
        t.tenant_keys.c.tenant_id == bindparam("tenant_id"), t.tenant_keys.c.retired_at.is_(None)
    )
)


class KeyringCache:
    """Unwrapped tenant keyrings kept in memory only, refreshed after `ttl` seconds."""

    def __init__(self, provider: KeyProvider, ttl: float = 60.0) -> None:
        self._provider = provider
        self._ttl = ttl
        self._entries: dict[str, tuple[TenantKeyring, float]] = {}
        self._lock = threading.Lock()

    def get(self, unit: Session | Tx, tenant_id: str) -> TenantKeyring:
        entry = self._entries.get(tenant_id)
        if entry is not None and time.monotonic() - entry[1] < self._ttl:
            return entry[0]
        return self.reload(unit, tenant_id)

    def reload(self, unit: Session | Tx, tenant_id: str) -> TenantKeyring:
        rows = _LIVE_KEYS.all(unit, {"tenant_id": tenant_id})
        if not rows:
            raise NotFound("unknown tenant", code="tenant_not_found")
        keys: dict[KeyFamily, list[VersionedKey]] = {}
        try:
            for family, version, wrapped in rows:
                material = self._provider.unwrap(wrapped, context=tenant_key_context(tenant_id, family, version))
                keys.setdefault(KeyFamily(family), []).append(VersionedKey(version, SecretBytes(material)))
        except KeyProviderUnavailable:
            raise ServiceUnavailable("the key provider is unavailable", code="key_provider_unavailable") from None
        except DecryptionError:
            raise ServiceUnavailable("tenant keys cannot be unwrapped", code="key_unwrap_failed") from None
        keyring = TenantKeyring(tenant_id, keys)
        with self._lock:
            self._entries[tenant_id] = (keyring, time.monotonic())
        return keyring

    def forget(self, tenant_id: str | None = None) -> None:
        with self._lock:
            if tenant_id is None:
                self._entries.clear()
            else:
                self._entries.pop(tenant_id, None)
