"""Small keyed primitives: blind index, token digests, random tokens, MACs."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.hmac import HMAC

__all__ = [
    "BLIND_LABEL", "KeyedDigester", "blind_index", "constant_time_equal", "keyed_digest", "new_token", "sha256_hex",
]  # fmt: skip


BLIND_LABEL = b"phone:"


def blind_index(index_key: bytes, e164: str) -> bytes:
    """HMAC-SHA256 of a normalized E.164 number: finds a contact without decrypting."""
    return hmac.new(index_key, BLIND_LABEL + e164.encode("ascii"), hashlib.sha256).digest()


class KeyedDigester:
    """HMAC-SHA256 of `prefix + value` under one key, the keyed state prepared once (copying it is ~30%
    cheaper than keying a new HMAC). `KeyedDigester(key, b"handle:")(v) == keyed_digest(key, v, label="handle")`.

    The state is `cryptography`'s HMAC: its copy, update and finalize are single native calls, where the
    standard library's `hmac` wraps each in Python frames (~1.7 µs a digest instead of ~3.5 µs).
    """

    __slots__ = ("_primed",)

    def __init__(self, key: bytes, prefix: bytes) -> None:
        self._primed = HMAC(key, SHA256())
        self._primed.update(prefix)

    def __call__(self, value: str | bytes) -> bytes:
        mac = self._primed.copy()
        mac.update(value.encode("utf-8") if isinstance(value, str) else value)
        return mac.finalize()

    def many(self, values: Iterable[str]) -> list[bytes]:
        """The digest of each value, in order."""
        copy = self._primed.copy
        digests: list[bytes] = []
        for value in values:
            mac = copy()
            mac.update(value.encode("utf-8"))
            digests.append(mac.finalize())
        return digests


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
