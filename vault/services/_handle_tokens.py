"""Dial handle tokens: `dh_` + a selector (the handle row's time-sorted id) + 192 random bits.

The selector finds the row through its primary key, which grows at its end; the random part is what
makes the token unguessable. Only the keyed digest of the whole token is stored, and the row matches
only if id, digest and tenant all do: a known selector with a wrong random part finds nothing, like
an unknown selector, in the same one-row primary-key probe. (A unique index on the random digest
cost every issued handle one random index page, written at commit and again at checkpoint.)
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlmodel import Session

from ..crypto import TenantKeyring
from ..storage import Prepared, Tx
from ..storage import tables as t

__all__ = ["HANDLE_ID_PREFIX", "handle_key", "new_handle_tokens"]

HANDLE_PREFIX = "dh"
HANDLE_ID_PREFIX = "hd"
_HEAD = HANDLE_PREFIX + "_"
_ID_HEAD = HANDLE_ID_PREFIX + "_"
_RANDOM_BYTES = 24  # 192 bits
_RANDOM_CHARS = _RANDOM_BYTES // 3 * 4
assert _RANDOM_BYTES % 3 == 0, "the random part must encode to base64 without padding"
# Handles issued before revision 0006 are `dh_` + the random part alone: they name no row, and are found
# by their digest through a partial index that holds only theirs.
_LEGACY_LENGTH = len(_HEAD) + _RANDOM_CHARS

_h = t.dial_handles.c
_LEGACY = Prepared(select(_h.id).where(_h.legacy_digest == bindparam("digest"), _h.tenant_id == bindparam("tenant_id")))


def new_handle_tokens(handle_ids: Sequence[str]) -> list[str]:
    """A token for each handle row id (as `new_sorted_ids(HANDLE_ID_PREFIX, ...)` makes them), the random
    parts drawn from the OS CSPRNG in one read: whole 3-byte groups encode with aligned boundaries."""
    text = base64.urlsafe_b64encode(secrets.token_bytes(_RANDOM_BYTES * len(handle_ids))).decode("ascii")
    skip = len(_ID_HEAD)
    return [
        f"{_HEAD}{handle_id[skip:]}{text[start : start + _RANDOM_CHARS]}"
        for handle_id, start in zip(handle_ids, range(0, len(text), _RANDOM_CHARS), strict=True)
    ]


def handle_key(unit: Session | Tx, keyring: TenantKeyring, tenant_id: str, token: str) -> tuple[str | None, bytes]:
    """The id of the only row the token can be (None: no row can) and the token's keyed digest.

    The row is the token's only if its digest and tenant match too."""
    digest = keyring.handle_digest(token)
    if not token.startswith(_HEAD) or len(token) < _LEGACY_LENGTH:
        return None, digest
    if len(token) == _LEGACY_LENGTH:
        row = _LEGACY.first(unit, {"digest": digest, "tenant_id": tenant_id})
        return (row.id if row is not None else None), digest
    return _ID_HEAD + token[len(_HEAD) : -_RANDOM_CHARS], digest
