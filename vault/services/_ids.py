"""Random identifiers. Letters only, so no id can be mistaken for (or hide) a phone number."""

from __future__ import annotations

import functools
import os
import string
from datetime import datetime

__all__ = ["new_grouped_ids", "new_id", "new_sorted_ids"]

_LENGTH = 20  # 20 letters from 26, ~94 bits: the 256→26 fold leaves each letter within 10/256 vs 9/256
_TO_LETTERS = bytes(ord(string.ascii_lowercase[b % 26]) for b in range(256))
_TIME_LETTERS = 10  # milliseconds since the epoch in base 26: in order until the year 6400
_RANDOM_LETTERS = 13  # ~61 bits: ids made in the same millisecond are told apart at random
_GROUP_LETTERS = 2  # 676 groups: each shared with ~1/676 of every other id of the kind


def new_id(prefix: str) -> str:
    return prefix + "_" + os.urandom(_LENGTH).translate(_TO_LETTERS).decode("ascii")


def new_grouped_ids(prefix: str, count: int) -> list[str]:
    """`count` random ids that share a random group of two letters: a batch lands in one region of an index.

    Ids of one batch scattered over a whole index dirty a page of it per id, and each page is written to
    the WAL at commit: for a batch of new contacts that was two thirds of what SQLite wrote. Unlike a
    time-sorted id, the group tells nothing of when an id was made, and ids made together are told apart
    from the others only as a group of 676 is.
    """
    group = os.urandom(_GROUP_LETTERS).translate(_TO_LETTERS).decode("ascii")
    width = _LENGTH - _GROUP_LETTERS
    tails = os.urandom(width * count).translate(_TO_LETTERS).decode("ascii")
    return [prefix + "_" + group + tails[i : i + width] for i in range(0, width * count, width)]


@functools.lru_cache(maxsize=4)
def _time_letters(milliseconds: int) -> str:
    letters = []
    for _ in range(_TIME_LETTERS):
        milliseconds, digit = divmod(milliseconds, 26)
        letters.append(string.ascii_lowercase[digit])
    return "".join(reversed(letters))


def new_sorted_ids(prefix: str, now: datetime, count: int) -> list[str]:
    """`count` ids that sort by creation millisecond, then at random: inserts land at the end of an index.

    Random ids scatter a batch's inserts over every page of an index, and each page touched is written
    to the WAL at commit; for append-only records whose time is no secret (consent events, attempts,
    handles) that write amplification dominated batch capture. Sorted by the second only, the thousands
    of ids made within a second still scattered over that second's pages: a commit of 16 authorizations
    wrote ~8 pages of the attempts' id index (of 42 in all); sorted by the millisecond, ~2.6.
    """
    head = prefix + "_" + _time_letters(int(now.timestamp() * 1000))
    tails = os.urandom(_RANDOM_LETTERS * count).translate(_TO_LETTERS).decode("ascii")
    return [head + tails[i : i + _RANDOM_LETTERS] for i in range(0, _RANDOM_LETTERS * count, _RANDOM_LETTERS)]
