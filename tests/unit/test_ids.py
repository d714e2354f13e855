"""Identifiers: letters only, the length of a random id, and what a grouped or sorted id shares."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from vault.services._ids import new_grouped_ids, new_id, new_sorted_ids

_SHAPE = re.compile(r"ct_[a-z]{20}")


def test_grouped_ids_have_the_shape_of_a_random_id() -> None:
    assert all(_SHAPE.fullmatch(i) for i in [*new_grouped_ids("ct", 500), new_id("ct")])


def test_grouped_ids_of_one_batch_share_their_first_two_letters_and_nothing_else_is_repeated() -> None:
    ids = new_grouped_ids("ct", 1000)
    assert len({i[:5] for i in ids}) == 1
    assert len(set(ids)) == 1000


def test_sorted_ids_sort_by_the_millisecond_they_were_made() -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    earlier, later = new_sorted_ids("at", now, 50), new_sorted_ids("at", now + timedelta(milliseconds=1), 50)
    assert max(earlier) < min(later)


def test_sorted_ids_of_one_millisecond_are_letters_and_all_different() -> None:
    ids = new_sorted_ids("at", datetime(2026, 11, 23, 12, tzinfo=UTC), 1000)
    assert all(re.fullmatch(r"at_[a-z]{23}", i) for i in ids)
    assert len(set(ids)) == 1000
