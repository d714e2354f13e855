"""Distinct, valid phone numbers for benchmarks, deterministic per seed (no two seeds overlap)."""

from __future__ import annotations

__all__ = ["REGION_PREFIXES", "phone_numbers"]

# Mobile prefixes that `phonenumbers` accepts as valid; each seed owns one, 100 million numbers.
_CN_PREFIXES = tuple(
    f"+86{p}" for p in (*range(130, 140), 150, 151, 152, 153, 155, 156, 157, 158, 159, *range(180, 190))
)
# Single-zone numbering areas, used to find a callee whose local time is inside the calling window.
REGION_PREFIXES = {
    "CN": ("+86138", 8, "Asia/Shanghai"),
    "DE": ("+4915112", 6, "Europe/Berlin"),
    "US-NY": ("+12122", 6, "America/New_York"),
    "US-CA": ("+12132", 6, "America/Los_Angeles"),
}


def phone_numbers(count: int, seed: int = 0, start: int = 0) -> list[str]:
    """`count` distinct E.164 Chinese mobile numbers; `seed` selects a disjoint block."""
    prefix = _CN_PREFIXES[seed % len(_CN_PREFIXES)]
    if start + count > 100_000_000:
        raise ValueError("at most 100 million numbers per seed")
    return [f"{prefix}{i:08d}" for i in range(start, start + count)]
