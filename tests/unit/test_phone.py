"""Phone parsing: the E.164 fast path agrees with phonenumbers' general parser."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.errors import InvalidPhoneNumber
from vault.services._phone import number_facts, parse_phone


def _general(raw: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _ours(raw: str) -> str | None:
    try:
        return parse_phone(raw).e164
    except InvalidPhoneNumber:
        return None


@settings(max_examples=600, deadline=None)
@given(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True))
def test_fast_path_agrees_with_the_general_parser(raw: str) -> None:
    assert _ours(raw) == _general(raw)


@pytest.mark.parametrize(
    "raw", ["+8613800138000", "+14155550123", "+390612345678", "+33612345678", "+447911123456", "+4930123456"]
)
def test_valid_e164_numbers_round_trip(raw: str) -> None:
    assert parse_phone(raw).e164 == _general(raw) == raw


def test_national_format_needs_its_region() -> None:
    assert parse_phone("138 0013 8000", "CN").e164 == "+8613800138000"


@pytest.mark.parametrize("raw", ["", "   ", "+", "+0123456789", "not a number", "+86123", "1" * 70])
def test_invalid_input_raises_without_echoing(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as raised:
        parse_phone(raw)
    assert raw.strip() == "" or raw not in str(raised.value)


def test_facts_of_a_florida_number() -> None:
    facts = number_facts("+13055551234")
    assert facts.region == "US" and facts.subdivisions == frozenset({"US-FL"})
    assert facts.time_zones == ("America/New_York",)


def test_facts_of_a_toll_free_number_list_every_zone() -> None:
    assert len(number_facts("+18005550100").time_zones) > 5
