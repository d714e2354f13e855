"""Checks for JSON answers written out as text (batch routes): what goes in unescaped must be plain."""

from __future__ import annotations

import re

__all__ = ["require_plain_ids"]

# Generated ids are letters and "_" (services/_ids.py), so they need no JSON escaping; checked, not assumed.
_PLAIN_IDS = re.compile(r"[a-z_]*")


def require_plain_ids(joined: str) -> None:
    """Refuse the answer (500) if the ids written into it unescaped, joined, hold anything else."""
    if _PLAIN_IDS.fullmatch(joined) is None:
        raise ValueError("unexpected id in a written JSON answer")
