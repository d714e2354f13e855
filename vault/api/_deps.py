"""Request dependencies: the vault, the authenticated actor with its role, the clock."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from ..errors import Unauthenticated
from ..services import Actor, Role, Vault
from ..services.tenants import actor_for_key, authenticate, confirm_key, key_digest
from ..storage import Tx
from ._group_commit import GroupCommit, ItemsWork
from ._hot import header_of

__all__ = [
    "KnownKeys", "Now", "VaultDep", "WriteSession", "authenticated", "bearer_token", "in_read_tx", "in_write_together",
    "require_roles", "scope_actor", "vault_of",
]  # fmt: skip

T = TypeVar("T")
ItemT = TypeVar("ItemT")


def vault_of(request: Request) -> Vault:
    """The vault, for hot routes that take `request` instead of `VaultDep` (one dependency less to solve)."""
    vault: Vault = request.app.state.vault
    return vault


# Trivial dependencies are `async def`: FastAPI runs sync ones in the thread pool, a hop per request each.
async def _vault(request: Request) -> Vault:
    return vault_of(request)


VaultDep = Annotated[Vault, Depends(_vault)]


async def _now(vault: VaultDep) -> datetime:
    return vault.clock.now()


Now = Annotated[datetime, Depends(_now)]


def _write_session(vault: VaultDep) -> Iterator[Session]:
    with vault.database.write() as session:
        yield session


# scope="function": commit before the response is sent, so a 200 means it is stored (and a failed commit is a 503).
WriteSession = Annotated[Session, Depends(_write_session, scope="function")]


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


async def in_read_tx(vault: Vault, work: Callable[[Tx], T]) -> T:
    """Run a hot-path read: on the event loop for SQLite (a WAL reader never waits, and costs less than a
    thread hop), in the thread pool for a networked store."""

    def read() -> T:
        with vault.database.read_tx() as tx:
            return work(tx)

    if vault.database.is_sqlite:
        return read()
    return await run_in_threadpool(read)


async def authenticated(vault: Vault, authorization: str | None, allowed: frozenset[Role]) -> Actor:
    """The actor an Authorization header's API key names, if its role is one of `allowed` (else 401/403)."""
    secret = bearer_token(authorization)
    return await in_read_tx(vault, lambda tx: authenticate(tx, vault, secret, allowed))


class KnownKeys:
    """The actor of each API key this process has seen, by digest, for the hot write routes.

    Who a key is (tenant, id, role) never changes; whether it is revoked does, and `in_write_together`
    confirms that in the transaction the request's work runs in, once per key per group-committed batch."""

    def __init__(self, capacity: int = 1024) -> None:
        self._capacity = capacity
        self._actors: dict[bytes, Actor] = {}

    def get(self, digest: bytes) -> Actor | None:
        return self._actors.get(digest)

    def remember(self, digest: bytes, actor: Actor) -> None:
        if len(self._actors) >= self._capacity:
            self._actors.clear()
        self._actors[digest] = actor

    def forget(self, actor: Actor) -> None:
        for digest in [d for d, known in self._actors.items() if known.key_id == actor.key_id]:
            del self._actors[digest]


async def scope_actor(scope: Scope, allowed: frozenset[Role]) -> Actor:
    """`authenticated` for a hot write route's raw request; a key seen before is not looked up again (its
    work must run through `in_write_together`, which confirms the key)."""
    authorization = header_of(scope, b"authorization")
    app = scope["app"]
    vault: Vault = app.state.vault
    known: KnownKeys = app.state.known_keys
    digest = key_digest(vault, bearer_token(authorization.decode("latin-1") if authorization else None))
    actor = known.get(digest)
    if actor is None or Role(actor.role) not in allowed:  # a refusal comes from the lookup, as on other routes
        actor = await in_read_tx(vault, lambda tx: actor_for_key(tx, digest, allowed))
        known.remember(digest, actor)
    return actor


def require_roles(*roles: Role) -> Any:
    """A dependency admitting only keys with one of `roles` (deny by default)."""
    allowed = frozenset(roles)

    # The vault and the header come from the request, not from VaultDep and Header(): each parameter FastAPI
    # resolves costs more per request than the key lookup itself. (The bearer scheme is in the OpenAPI
    # document: see _app.py.)
    async def dependency(request: Request) -> Actor:
        return await authenticated(vault_of(request), request.headers.get("authorization"), allowed)

    dependency.__name__ = "require_" + "_".join(r.value for r in roles)
    dependency.allowed_roles = allowed  # type: ignore[attr-defined]  # read by the route-contract tests
    marker: Callable[..., Any] = dependency
    return Depends(marker)


async def in_write_together(
    app: Any, actor: Actor, kind: Hashable, item: ItemT, work: ItemsWork[tuple[Actor, ItemT], T]
) -> T:
    """Run a hot-path unit of work in a group-committed write transaction, committed before this returns,
    together with the batch's other units of `kind`: `work` gets each one's (actor, item), once that
    transaction has confirmed every actor's key is not revoked (else 401, and nothing runs), and answers
    one value per item."""
    group_commit: GroupCommit = app.state.group_commit

    def confirmed(tx: Tx, entries: list[tuple[Actor, ItemT]]) -> Sequence[T]:
        for entry_actor, _ in entries:
            confirm_key(tx, entry_actor)
        return work(tx, entries)

    try:
        return await group_commit.run_together(kind, (actor, item), confirmed)
    except Unauthenticated:
        app.state.known_keys.forget(actor)  # its next request fails at the lookup, outside any batch
        raise
