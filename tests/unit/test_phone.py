"""Phone parsing: the E.164 fast path agrees with phonenumbers' general parser and its validity rules."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.errors import InvalidPhoneNumber
from vault.services import _phone
from vault.services._phone import _subdivisions, number_facts, parse_phone, valid_e164_region

_TYPES = (
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST,
    phonenumbers.PhoneNumberType.VOIP,
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
    phonenumbers.PhoneNumberType.PAGER,
    phonenumbers.PhoneNumberType.UAN,
    phonenumbers.PhoneNumberType.VOICEMAIL,
)


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# phonenumbers' own example of every number type of every region and non-geographic calling code.
_EXAMPLES = sorted(
    {
        _e164(example)
        for region in phonenumbers.SUPPORTED_REGIONS
        for kind in _TYPES
        if (example := phonenumbers.example_number_for_type(region, kind)) is not None
    }
    | {
        _e164(example)
        for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS
        if (example := phonenumbers.example_number_for_non_geo_entity(code)) is not None
    }
)


def _general(raw: str, region: str | None = None) -> str | None:
    """The E.164 form phonenumbers' general parser gives a valid number, else None."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _region_per_phonenumbers(raw: str) -> str | None:
    """The region phonenumbers gives a canonical E.164 number (at most 15 digits) it calls valid, else None."""
    if not 7 <= len(raw) - 1 <= 15 or _general(raw) != raw:
        return None
    return phonenumbers.region_code_for_number(phonenumbers.parse(raw, None))


@st.composite
def _near_valid_numbers(draw: st.DrawFn) -> str:
    """An example number with a few digits changed, added or dropped: valid and invalid ones near the edges."""
    digits = list(draw(st.sampled_from(_EXAMPLES))[1:])
    for _ in range(draw(st.integers(0, 3))):
        digits[draw(st.integers(1, len(digits) - 1))] = draw(st.sampled_from("0123456789"))
    change = draw(st.integers(-2, 2))
    if change < 0:
        digits = digits[:change]
    else:
        digits += draw(st.lists(st.sampled_from("0123456789"), min_size=change, max_size=change))
    return "+" + "".join(digits)


def _ours(raw: str) -> str | None:
    try:
        return parse_phone(raw).e164
    except InvalidPhoneNumber:
        return None


@settings(max_examples=600, deadline=None)
@given(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True))
def test_fast_path_agrees_with_the_general_parser(raw: str) -> None:
    assert _ours(raw) == _general(raw)


def _ours_national(raw: str, region: str) -> str | None:
    try:
        return parse_phone(raw, region).e164
    except InvalidPhoneNumber:
        return None


# Every example number written the national way, as digits (with the spaces and hyphens of its format).
_NATIONAL_EXAMPLES = sorted(
    {
        (
            "".join(
                c
                for c in phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
                if c in "0123456789 -"
            ),
            region,
        )
        for region in phonenumbers.SUPPORTED_REGIONS
        for kind in _TYPES
        if (example := phonenumbers.example_number_for_type(region, kind)) is not None
    }
)


def test_national_digits_parse_as_the_general_parser_parses_them_for_every_example_number() -> None:
    for raw, region in _NATIONAL_EXAMPLES:
        assert _ours_national(raw, region) == _general(raw, region), (raw, region)


@settings(max_examples=1500, deadline=None)
@given(
    st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)),
    st.from_regex(r"[0-9][0-9 \-]{3,16}", fullmatch=True),
)
def test_national_digits_parse_as_the_general_parser_parses_them(region: str, raw: str) -> None:
    assert _ours_national(raw, region) == _general(raw, region)


@settings(max_examples=800, deadline=None)
@given(st.sampled_from(_NATIONAL_EXAMPLES), st.integers(0, 3), st.data())
def test_national_digits_near_example_numbers_parse_as_the_general_parser_parses_them(
    example: tuple[str, str], changes: int, data: st.DataObject
) -> None:
    raw, region = example
    digits = list(raw)
    for _ in range(changes):
        digits[data.draw(st.integers(0, len(digits) - 1))] = data.draw(st.sampled_from("0123456789"))
    mutated = "".join(digits).strip(" -") or "0"
    assert _ours_national(mutated, region) == _general(mutated, region)


@settings(max_examples=1500, deadline=None)
@given(_near_valid_numbers())
def test_fast_validation_agrees_with_phonenumbers_near_valid_numbers(raw: str) -> None:
    assert valid_e164_region(raw) == _region_per_phonenumbers(raw)


@settings(max_examples=2000, deadline=None)
@given(st.sampled_from("123456789"), st.text("0123456789", min_size=6, max_size=14))
def test_fast_validation_agrees_with_phonenumbers_on_any_digits(first: str, rest: str) -> None:
    raw = f"+{first}{rest}"
    assert valid_e164_region(raw) == _region_per_phonenumbers(raw)


def test_fast_validation_accepts_every_example_number_with_its_region() -> None:
    for raw in _EXAMPLES:
        if 7 <= len(raw) - 1 <= 15:  # E.164's length; shorter service numbers go through the general parser
            assert valid_e164_region(raw) == phonenumbers.region_code_for_number(phonenumbers.parse(raw)), raw


@pytest.mark.parametrize("raw", ["+12684601234", "+16135550123", "+447911123456", "+79123456789", "+77012345678"])
def test_shared_calling_codes_resolve_to_the_region_phonenumbers_picks(raw: str) -> None:
    assert valid_e164_region(raw) == _region_per_phonenumbers(raw) is not None


@pytest.mark.parametrize(
    "raw",
    [
        "+86 138 0013 8000",
        "+8613800138000 ",
        "+86\u0661\u0663\u0668\u0660\u0660\u0661\u0663\u0668\u0660\u0660\u0660",
        "+860000000000",
        "8613800138000",
    ],
)
def test_fast_validation_leaves_non_canonical_text_to_the_general_parser(raw: str) -> None:
    assert valid_e164_region(raw) is None


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


@settings(max_examples=800, deadline=None)
@given(_near_valid_numbers())
def test_facts_of_a_stored_number_are_what_the_general_parser_gives(raw: str) -> None:
    e164 = _general(raw)
    if e164 is None:  # only valid numbers are ever stored
        return
    number = phonenumbers.parse(e164, None)
    facts = number_facts(e164)
    region = phonenumbers.region_code_for_number(number)
    assert facts.region == region
    assert set(facts.time_zones) == set(phonenumbers.timezone.time_zones_for_number(number)) - {"Etc/Unknown"}
    assert facts.subdivisions == _subdivisions(number, region)  # from phonenumbers' own type check


@settings(max_examples=400, deadline=None)
@given(st.from_regex(r"\+1[2-9][0-9]{2}[2-9][0-9]{6}", fullmatch=True))
def test_facts_of_any_nanp_number_are_what_the_general_parser_gives(raw: str) -> None:
    if _general(raw) is None:
        return
    number = phonenumbers.parse(raw, None)
    facts = number_facts(raw)
    assert set(facts.time_zones) == set(phonenumbers.timezone.time_zones_for_number(number)) - {"Etc/Unknown"}
    assert facts.subdivisions == _subdivisions(number, phonenumbers.region_code_for_number(number))


def test_facts_of_every_example_number_are_what_the_general_parser_gives() -> None:
    for e164 in _EXAMPLES:
        number = phonenumbers.parse(e164, None)
        facts = number_facts(e164)
        zones = set(phonenumbers.timezone.time_zones_for_number(number)) - {"Etc/Unknown"}
        assert (set(facts.time_zones), facts.subdivisions) == (zones, _subdivisions(number, facts.region)), e164


def test_facts_are_the_same_when_phonenumbers_lacks_its_prefix_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_phone, "_prefix_lookup", lambda: None)
    facts = number_facts("+13055551234")
    assert facts.subdivisions == frozenset({"US-FL"})
