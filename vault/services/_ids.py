"""Random identifiers. Letters only, so no id can be mistaken for (or hide) a phone number."""

from __future__ import annotations

import secrets

__all__ = ["new_id"]

_ALPHABET = "abcdefghijkmnopqrstuvwxyz"
_LENGTH = 20  # 25**20 ≈ 2**93


def new_id(prefix: str) -> str:
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
