"""Random identifiers. Letters only, so no id can be mistaken for (or hide) a phone number."""

from __future__ import annotations

import os
import string

__all__ = ["new_id"]

_LENGTH = 20  # 20 letters from 26, ~94 bits: the 256→26 fold leaves each letter within 10/256 vs 9/256
_TO_LETTERS = bytes(ord(string.ascii_lowercase[b % 26]) for b in range(256))


def new_id(prefix: str) -> str:
    return prefix + "_" + os.urandom(_LENGTH).translate(_TO_LETTERS).decode("ascii")
