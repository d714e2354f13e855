"""A tenant's policy overrides (e.g. turning licence enforcement on), validated like a policy file."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from ...errors import InvalidInput
from ...policy import PolicyFileError
from ...storage import tables as t
from .._context import Actor, Vault
from ..audit import record_event
from ._facts import policy_ref

__all__ = ["get_tenant_policy", "set_tenant_policy"]

_DIGITS = re.compile(r"\d(?:\s?\d){6,}")


def get_tenant_policy(session: Session, vault: Vault, actor: Actor) -> dict[str, Any]:
    overrides = session.execute(
        select(t.tenants.c.policy_overrides).where(t.tenants.c.id == actor.tenant_id)
    ).scalar_one_or_none()
    policy = vault.policies.for_tenant(session, actor.tenant_id)
    return {
        "overrides": overrides or {},
        "fingerprint": policy.fingerprint,
        "licences_enforced": policy.licences_enforced,
        "purposes": [p.name for p in policy.purposes],
    }


def set_tenant_policy(
    session: Session, vault: Vault, actor: Actor, overrides: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """Replace the tenant's overrides; a bad document is refused (422 `policy_invalid`) and nothing changes."""
    try:
        policy = vault.policies.base.with_overrides(overrides) if overrides else vault.policies.base
    except PolicyFileError as exc:
        reason = _DIGITS.sub("…", exc.reason)
        raise InvalidInput(
            f"the policy overrides are invalid: {reason}", code="policy_invalid", field=exc.field
        ) from None
    session.execute(
        update(t.tenants).where(t.tenants.c.id == actor.tenant_id).values(policy_overrides=dict(overrides) or None)
    )
    record_event(
        session, vault.keyrings.get(session, actor.tenant_id), actor, "policy.updated", now,
        target_type="tenant", target_id=actor.tenant_id,
        details={"policy": policy_ref(policy), "licences_enforced": policy.licences_enforced},
    )  # fmt: skip
    vault.policies.forget(actor.tenant_id)
    return {"fingerprint": policy.fingerprint, "licences_enforced": policy.licences_enforced}
