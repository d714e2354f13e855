"""Tenants, the installation's API-key pepper, API keys and authentication."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from ..crypto import KeyedDigester, KeyProvider, SecretBytes, constant_time_equal, new_token
from ..errors import Conflict, Forbidden, NotFound, Unauthenticated
from ..storage import Prepared, Tx
from ..storage import tables as t
from ..storage.tables import ApiKey, ServerSecret, Tenant
from ._context import Actor, Vault
from ._ids import new_id
from ._keyrings import create_tenant_keys
from .audit import init_ledger, record_event

__all__ = [
    "IssuedKey",
    "Role",
    "actor_for_key",
    "api_key_digester",
    "authenticate",
    "confirm_key",
    "create_tenant",
    "find_tenant",
    "issue_api_key",
    "key_digest",
    "load_or_create_pepper",
    "revoke_api_key",
]

_PEPPER = "api_key_pepper"
_KEY_PREFIX = "dvk"


class Role(enum.StrEnum):
    ADMIN = "admin"
    CAPTURE = "capture"
    DIALER = "dialer"
    GATEWAY = "gateway"
    PRIVACY = "privacy"
    AUDITOR = "auditor"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key_id: str
    secret: str
    role: Role

    def __repr__(self) -> str:
        return f"IssuedKey(key_id={self.key_id!r}, role={self.role.value!r}, secret=<redacted>)"


_KEY_BY_DIGEST = Prepared(
    select(
        t.api_keys.c.id, t.api_keys.c.tenant_id, t.api_keys.c.role, t.api_keys.c.digest, t.api_keys.c.revoked_at
    ).where(t.api_keys.c.digest == bindparam("digest"))
)
_LIVE_KEY = Prepared(
    select(t.api_keys.c.id).where(t.api_keys.c.id == bindparam("key_id"), t.api_keys.c.revoked_at.is_(None))
)


def load_or_create_pepper(session: Session, provider: KeyProvider, now: datetime) -> SecretBytes:
    row = session.get(ServerSecret, _PEPPER)
    context = f"server-secret:{_PEPPER}"
    if row is None:
        pepper = os.urandom(32)
        session.add(
            ServerSecret(
                name=_PEPPER,
                wrapped=provider.wrap(pepper, context=context),
                provider=provider.name,
                created_at=now,
            )
        )
        session.flush()
        return SecretBytes(pepper)
    return SecretBytes(provider.unwrap(row.wrapped, context=context))


def api_key_digester(pepper: SecretBytes) -> KeyedDigester:
    """HMAC-SHA256 of `api-key:` + the key under the pepper, the keyed state prepared once."""
    return KeyedDigester(pepper.reveal(), b"api-key:")


def find_tenant(session: Session, name: str) -> Tenant:
    tenant: Tenant | None = session.execute(select(Tenant).where(t.tenants.c.name == name)).scalar_one_or_none()
    if tenant is None:
        raise NotFound("unknown tenant", code="tenant_not_found")
    return tenant


def create_tenant(session: Session, vault: Vault, name: str, now: datetime) -> Tenant:
    """A tenant with its keys and an empty audit ledger; the creation is its first entry."""
    tenant = Tenant(id=new_id("tn"), name=name, created_at=now)
    session.add(tenant)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("a tenant with this name exists", code="tenant_exists") from None
    create_tenant_keys(session, vault.provider, tenant.id, now)
    init_ledger(session, tenant.id)
    session.flush()
    keyring = vault.keyrings.reload(session, tenant.id)
    record_event(session, keyring, "system", "tenant.created", now, target_type="tenant", target_id=tenant.id)
    return tenant


def issue_api_key(
    session: Session,
    vault: Vault,
    tenant_id: str,
    role: Role,
    now: datetime,
    *,
    actor: Actor | str = "system",
    label: str | None = None,
) -> IssuedKey:
    secret = new_token(_KEY_PREFIX)
    key_id = new_id("key")
    session.add(
        ApiKey(
            id=key_id,
            tenant_id=tenant_id,
            role=role.value,
            digest=vault.api_key_digester(secret),
            label=label,
            created_at=now,
        )
    )
    session.flush()
    keyring = vault.keyrings.get(session, tenant_id)
    record_event(
        session,
        keyring,
        actor,
        "api_key.created",
        now,
        target_type="api_key",
        target_id=key_id,
        details={"role": role.value},
    )
    return IssuedKey(key_id=key_id, secret=secret, role=role)


def revoke_api_key(session: Session, vault: Vault, actor: Actor, key_id: str, now: datetime) -> None:
    result = session.execute(
        update(t.api_keys)
        .where(
            t.api_keys.c.id == key_id,
            t.api_keys.c.tenant_id == actor.tenant_id,
            t.api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        raise NotFound("unknown API key", code="api_key_not_found")
    record_event(
        session,
        vault.keyrings.get(session, actor.tenant_id),
        actor,
        "api_key.revoked",
        now,
        target_type="api_key",
        target_id=key_id,
    )


def key_digest(vault: Vault, secret: str | None) -> bytes:
    """The digest an API key is stored under; a secret that cannot be a key is 401 without a lookup."""
    if not secret or not secret.startswith(_KEY_PREFIX + "_") or len(secret) > 100:
        raise Unauthenticated("missing or unknown API key")
    return vault.api_key_digester(secret)


def actor_for_key(unit: Connection | Tx, digest: bytes, allowed: frozenset[Role]) -> Actor:
    """Key digest → Actor. Unknown or revoked → 401; a role outside `allowed` → 403."""
    row = _KEY_BY_DIGEST.first(unit, {"digest": digest})
    if row is None or not constant_time_equal(row.digest, digest) or row.revoked_at is not None:
        raise Unauthenticated("missing or unknown API key")
    if Role(row.role) not in allowed:
        raise Forbidden("this key's role may not use this route", code="forbidden_role")
    return Actor(tenant_id=row.tenant_id, key_id=row.id, role=row.role)


def authenticate(unit: Connection | Tx, vault: Vault, secret: str | None, allowed: frozenset[Role]) -> Actor:
    """Bearer secret → Actor. Unknown or revoked → 401; a role outside `allowed` → 403.

    Takes a bare connection: this runs on every request, and an ORM session cost more than the query."""
    return actor_for_key(unit, key_digest(vault, secret), allowed)


def confirm_key(tx: Tx, actor: Actor) -> None:
    """In a write transaction: the actor's key is not revoked (else 401). Looked up once per key per
    transaction, so the units of a group-committed batch made with one key share the lookup."""
    memo_key = ("live_api_key", actor.key_id)
    if memo_key in tx.memo:
        return
    if _LIVE_KEY.first(tx, {"key_id": actor.key_id}) is None:
        raise Unauthenticated("missing or unknown API key")
    tx.memo[memo_key] = True
