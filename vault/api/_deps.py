"""Request dependencies: the vault, the authenticated actor with its role, the clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlmodel import Session

from ..services import Actor, Role, Vault
from ..services.tenants import authenticate

__all__ = ["Now", "VaultDep", "WriteSession", "bearer_token", "require_roles"]


# Trivial dependencies are `async def`: FastAPI runs sync ones in the thread pool, a hop per request each.
async def _vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


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


def require_roles(*roles: Role) -> Any:
    """A dependency admitting only keys with one of `roles` (deny by default)."""
    allowed = frozenset(roles)

    def dependency(vault: VaultDep, authorization: Annotated[str | None, Header()] = None) -> Actor:
        with vault.database.engine.connect() as connection:
            return authenticate(connection, vault, bearer_token(authorization), allowed)

    dependency.__name__ = "require_" + "_".join(r.value for r in roles)
    dependency.allowed_roles = allowed  # type: ignore[attr-defined]  # read by the route-contract tests
    marker: Callable[..., Actor] = dependency
    return Depends(marker)
