"""Small keyed primitives: blind index, token digests, random tokens, MACs."""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["BlindIndexer", "blind_index", "constant_time_equal", "keyed_digest", "new_token", "sha256_hex"]


_BLIND_LABEL = b"phone:"


def blind_index(index_key: bytes, e164: str) -> bytes:
    """HMAC-SHA256 of a normalized E.164 number: finds a contact without decrypting."""
    return hmac.new(index_key, _BLIND_LABEL + e164.encode("ascii"), hashlib.sha256).digest()


class BlindIndexer:
    """`blind_index` under one key, with the keyed HMAC state prepared once (copying it is ~30% cheaper)."""

    __slots__ = ("_primed",)

    def __init__(self, index_key: bytes) -> None:
        self._primed = hmac.new(index_key, _BLIND_LABEL, hashlib.sha256)

    def __call__(self, e164: str) -> bytes:
        mac = self._primed.copy()
        mac.update(e164.encode("ascii"))
        return mac.digest()


def keyed_digest(key: bytes, value: str | bytes, *, label: str) -> bytes:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return hmac.new(key, label.encode("ascii") + b":" + raw, hashlib.sha256).digest()


def new_token(prefix: str, nbytes: int = 32) -> str:
    """A URL-safe random token with a readable prefix, e.g. ``dvk_…`` (256 bits by default)."""
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"


def constant_time_equal(left: bytes, right: bytes) -> bool:
    return hmac.compare_digest(left, right)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
