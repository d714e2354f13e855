"""Phone number parsing and facts derived from a number (region, time zones, subdivisions)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
from phonenumbers import phonemetadata, timezone
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

from ..errors import InvalidPhoneNumber

__all__ = [
    "NumberFacts", "ParsedNumber", "e164_number", "number_facts", "parse_phone", "preload_phone_data",
    "valid_e164_region",
]  # fmt: skip

_UNKNOWN_ZONE = "Etc/Unknown"


@dataclass(frozen=True, slots=True)
class ParsedNumber:
    e164: str
    region: str | None


@dataclass(frozen=True, slots=True)
class NumberFacts:
    region: str | None
    subdivisions: frozenset[str]
    time_zones: tuple[str, ...]


_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def e164_number(raw: str) -> phonenumbers.PhoneNumber | None:
    """Build the number straight from canonical E.164 text, skipping the general parser (~3x faster).

    Validity is still decided by phonenumbers; None means "use the general parser".
    """
    digits = raw[1:]
    for size in (1, 2, 3):
        country_code = int(digits[:size])
        if country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = digits[size:]
            if not national:
                return None
            zeros = len(national) - len(national.lstrip("0"))
            return phonenumbers.PhoneNumber(
                country_code=country_code,
                national_number=int(national),
                italian_leading_zero=True if zeros else None,
                number_of_leading_zeros=zeros if zeros > 1 else None,
            )
    return None


class _RegionRules:
    """One region's validity rules from phonenumbers' metadata, merged into one pattern per length.

    `is_valid_number` asks: does the national number match the general description, then does it match
    any number type (the first hit names the type; for validity only "any" matters). A description only
    applies to its own possible lengths, so the pattern for a length is the general pattern (a lookahead
    over the whole number) followed by the alternatives of exactly the types that allow that length.
    """

    __slots__ = ("_by_length", "_general", "_types")

    def __init__(self, metadata: phonemetadata.PhoneMetadata | None, country_code: int, non_geo: bool) -> None:
        self._general: tuple[tuple[int, ...], str] | None = None
        self._types: list[tuple[tuple[int, ...], str]] = []
        self._by_length: dict[int, re.Pattern[str] | None] = {}
        if metadata is None or (not non_geo and metadata.country_code != country_code):
            return
        general = metadata.general_desc
        if general is None or not general.national_number_pattern:
            return
        self._general = (tuple(general.possible_length), general.national_number_pattern)
        # Most registered numbers are mobile or fixed-line, so those alternatives come first (the order of an
        # alternation changes which one matches first, never whether the number matches).
        descs = [metadata.fixed_line]
        # Same rule as phonenumbers: when mobile and fixed-line share a pattern, mobile is never tried.
        if not metadata.same_mobile_and_fixed_line_pattern:
            descs.insert(0, metadata.mobile)
        descs += [
            metadata.premium_rate, metadata.toll_free, metadata.shared_cost, metadata.voip,
            metadata.personal_number, metadata.pager, metadata.uan, metadata.voicemail,
        ]  # fmt: skip
        self._types = [
            (tuple(desc.possible_length), desc.national_number_pattern)
            for desc in descs
            if desc is not None and desc.national_number_pattern
        ]

    def _pattern(self, length: int) -> re.Pattern[str] | None:
        if self._general is None:
            return None
        general_lengths, general = self._general
        if general_lengths and length not in general_lengths:
            return None
        types = [f"(?:{pattern})" for lengths, pattern in self._types if not lengths or length in lengths]
        if not types:
            return None
        return re.compile(f"(?=(?:{general})\\Z)(?:{'|'.join(types)})")

    def is_valid(self, nsn: str) -> bool:
        length = len(nsn)
        try:
            pattern = self._by_length[length]
        except KeyError:
            pattern = self._by_length[length] = self._pattern(length)
        return pattern is not None and pattern.fullmatch(nsn) is not None


class _CountryRules:
    """The regions sharing one calling code, in phonenumbers' order, with their leading-digit patterns."""

    __slots__ = ("_regions",)

    def __init__(self, country_code: int, regions: tuple[str, ...]) -> None:
        self._regions: list[tuple[str, re.Pattern[str] | None, _RegionRules]] = []
        for region in regions:
            non_geo = region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY
            metadata = phonemetadata.PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
            # Like phonenumbers, a shared calling code is resolved over geographic regions only.
            if len(regions) > 1 and (metadata is None or non_geo):
                continue
            leading = metadata.leading_digits if metadata is not None and len(regions) > 1 else None
            rules = _RegionRules(metadata, country_code, non_geo)
            self._regions.append((region, re.compile(leading) if leading else None, rules))

    def valid_region(self, nsn: str) -> str | None:
        """The region phonenumbers assigns to the number if it calls the number valid, else None."""
        # An all-zero national part does not round-trip through phonenumbers' integer form.
        if not nsn.strip("0"):
            return None
        for region, leading, rules in self._regions:
            if leading is None:
                if rules.is_valid(nsn):
                    return region
            elif leading.match(nsn):
                return region if rules.is_valid(nsn) else None
        return None


_CALLING_CODES = {str(code): code for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE}
_COUNTRY_RULES: dict[str, _CountryRules] = {}
# The first three digits of an E.164 number hold its calling code (calling codes are prefix-free): per three
# digits, where the national number starts and its country's rules (None: no such calling code).
_BY_HEAD: dict[str, tuple[int, _CountryRules] | None] = {}


def _country_of(head: str) -> tuple[int, _CountryRules] | None:
    for size in (1, 2, 3):
        code = head[:size]
        country_code = _CALLING_CODES.get(code)
        if country_code is not None:
            rules = _COUNTRY_RULES.get(code)
            if rules is None:
                regions = tuple(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[country_code])
                rules = _COUNTRY_RULES[code] = _CountryRules(country_code, regions)
            return size + 1, rules
    return None


def valid_e164_region(raw: str) -> str | None:
    """Region of a canonical E.164 number that phonenumbers.is_valid_number accepts; None otherwise.

    Same metadata and same decision as phonenumbers, without building a PhoneNumber or running the
    patterns of every number type one by one.
    """
    if type(raw) is not str or _E164.fullmatch(raw) is None:
        return None
    country = _country_of_number(raw)
    if country is None:
        return None
    return country[1].valid_region(raw[country[0] :])


def _country_of_number(e164: str) -> tuple[int, _CountryRules] | None:
    """`_country_of` the number's first three digits, remembered per three digits."""
    head = e164[1:4]
    try:
        return _BY_HEAD[head]
    except KeyError:
        country = _BY_HEAD[head] = _country_of(head)
        return country


@functools.cache
def _national_rules(region: str) -> tuple[str, re.Pattern[str] | None, re.Pattern[str] | None] | None:
    """A region's calling code, international (IDD) prefix and national prefix, as patterns."""
    metadata = phonemetadata.PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.country_code is None:
        return None
    idd = metadata.international_prefix
    national_prefix = metadata.national_prefix_for_parsing or metadata.national_prefix
    return (
        str(metadata.country_code),
        re.compile(idd) if idd else None,
        re.compile(national_prefix) if national_prefix else None,
    )


def _national_e164(raw: str, region: str) -> str | None:
    """The E.164 form `phonenumbers.parse(raw, region)` gives a valid number written as national digits
    (spaces and hyphens allowed), when none of the region's prefixes could apply to it: an international
    or national prefix, or its calling code, at the start. Else None, and the general parser decides.

    With no prefix to strip, the parser's number is the region's calling code and these digits: the
    same E.164 text, whose validity and region `valid_e164_region` decides as phonenumbers does. About
    a tenth of the general parser's cost, for imports whose numbers are written the national way."""
    rules = _national_rules(region)
    digits = raw.replace(" ", "").replace("-", "")
    if rules is None or not (digits.isascii() and digits.isdigit()):
        return None
    code, idd, national_prefix = rules
    if digits.startswith(code) or (idd and idd.match(digits)) or (national_prefix and national_prefix.match(digits)):
        return None
    candidate = "+" + code + digits
    return candidate if valid_e164_region(candidate) is not None else None


def parse_phone(raw: str, region: str | None = None, *, field: str = "phone") -> ParsedNumber:
    """Normalize to E.164; raises InvalidPhoneNumber (which never echoes the input)."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 64:
        raise InvalidPhoneNumber(field)
    fast_region = valid_e164_region(raw)
    if fast_region is not None:
        return ParsedNumber(e164=raw, region=fast_region)
    national = _national_e164(raw, region.upper()) if region else None
    if national is not None:
        return ParsedNumber(e164=national, region=valid_e164_region(national))
    try:
        number = phonenumbers.parse(raw, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber(field) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(field)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return ParsedNumber(e164=e164, region=phonenumbers.region_code_for_number(number))


# US/CA geocoder descriptions end with a two-letter state or province code ("Miami, FL"),
# or are the full state name ("Florida"); both map to ISO 3166-2 codes.
_US_STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA", "Kansas": "KS",
    "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA",
    "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS", "Missouri": "MO", "Montana": "MT",
    "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM",
    "New York": "NY", "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK",
    "Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC",
    "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT",
    "Virginia": "VA", "Washington": "WA", "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
    "Washington D.C.": "DC",
}  # fmt: skip
_US_CODES = frozenset(_US_STATES.values())


_SUBDIVIDED_REGIONS = frozenset({"US"})  # where the policies have rules per state


def preload_phone_data() -> None:
    """Load the geocoder's data now, and the public-holiday tables. A server calls this at start: loaded by
    the first authorization of a number in a subdivided region instead, the geocoder's held up every request
    for 0.6 s (the holidays package, loaded by the first calling-window check, ~0.15 s)."""
    import holidays  # noqa: F401, PLC0415
    from phonenumbers import geocoder  # noqa: F401, PLC0415


def _subdivisions(number: phonenumbers.PhoneNumber, region: str | None) -> frozenset[str]:
    if region not in _SUBDIVIDED_REGIONS:
        return frozenset()
    # Imported here: its data takes ~0.6 s to load, which every CLI start (an import included) would pay.
    from phonenumbers import geocoder  # noqa: PLC0415

    return _subdivision_named(geocoder.description_for_number(number, "en"))


def _geographic_subdivisions(e164: str, country_code: int, region: str) -> frozenset[str]:
    """`_subdivisions` of a valid number of a geographic type and known region.

    `description_for_valid_number` finds the number's region again before its prefix lookup (for +1 by
    trying each NANP region's patterns, ~25 µs); the region is known here, so the geocoder's data is looked
    up directly when this phonenumbers keeps it as it did. Its fallback, the country's name, names no
    subdivision."""
    if region not in _SUBDIVIDED_REGIONS:
        return frozenset()
    lookup = _prefix_lookup()
    if lookup is None or phonenumbers.country_mobile_token(country_code):  # a token is stripped first
        from phonenumbers import geocoder  # noqa: PLC0415

        number = e164_number(e164)
        assert number is not None, "a valid number's E.164 text builds its number"
        return _subdivision_named(geocoder.description_for_valid_number(number, "en"))
    return _subdivision_named(lookup(e164[1:]))


@functools.cache
def _prefix_lookup() -> Callable[[str], str] | None:
    """The geocoder's English description of a number by its E.164 digits, found as its own prefix lookup
    finds it (the longest prefix with an English name), if this phonenumbers keeps its data as it did."""
    from phonenumbers import geocoder  # noqa: PLC0415

    data, longest = getattr(geocoder, "GEOCODE_DATA", None), getattr(geocoder, "GEOCODE_LONGEST_PREFIX", None)
    if not isinstance(data, dict) or not isinstance(longest, int):
        return None

    def lookup(digits: str) -> str:
        for size in range(min(longest, len(digits)), 0, -1):
            names = data.get(digits[:size])
            if names is not None and "en" in names:
                return str(names["en"])
        return ""

    return lookup


def _geographic_zones(digits: str) -> tuple[str, ...]:
    """`time_zones_for_geographical_number` by the number's E.164 digits: its longest prefix's zones."""
    for size in range(min(TIMEZONE_LONGEST_PREFIX, len(digits)), 0, -1):
        zones = TIMEZONE_DATA.get(digits[:size])
        if zones is not None:
            return tuple(z for z in zones if z != _UNKNOWN_ZONE)
    return ()


def _subdivision_named(description: str) -> frozenset[str]:
    description = description.strip()
    if description in _US_STATES:
        return frozenset({f"US-{_US_STATES[description]}"})
    tail = description.rsplit(",", 1)[-1].strip()
    if tail in _US_CODES:
        return frozenset({f"US-{tail}"})
    return frozenset()


_Desc = tuple[frozenset[int], re.Pattern[str]] | None  # possible lengths (empty: any), pattern; None: no such type
# Checked before fixed line and mobile, in phonenumbers' order (`_number_type_helper`): the first match names the type.
_OTHER_TYPES = (
    ("premium_rate", phonenumbers.PhoneNumberType.PREMIUM_RATE),
    ("toll_free", phonenumbers.PhoneNumberType.TOLL_FREE),
    ("shared_cost", phonenumbers.PhoneNumberType.SHARED_COST),
    ("voip", phonenumbers.PhoneNumberType.VOIP),
    ("personal_number", phonenumbers.PhoneNumberType.PERSONAL_NUMBER),
    ("pager", phonenumbers.PhoneNumberType.PAGER),
    ("uan", phonenumbers.PhoneNumberType.UAN),
    ("voicemail", phonenumbers.PhoneNumberType.VOICEMAIL),
)


def _desc(desc: phonemetadata.PhoneNumberDesc | None) -> _Desc:
    if desc is None or not desc.national_number_pattern:
        return None
    return frozenset(desc.possible_length), re.compile(desc.national_number_pattern)


def _matches(desc: _Desc, nsn: str) -> bool:
    if desc is None:
        return False
    lengths, pattern = desc
    return (not lengths or len(nsn) in lengths) and pattern.fullmatch(nsn) is not None


class _TypeRules:
    """One region's number types, decided as phonenumbers' `number_type` decides them, patterns compiled once.

    `number_type` first finds the number's region (for +1, by trying each NANP region's patterns), and the
    time zone and geocoder lookups each call it again: for a US number that was most of its facts' cost."""

    __slots__ = ("_fixed", "_general", "_mobile", "_others", "_same")

    def __init__(self, metadata: phonemetadata.PhoneMetadata) -> None:
        self._general = _desc(metadata.general_desc)
        self._others = [(kind, _desc(getattr(metadata, name))) for name, kind in _OTHER_TYPES]
        self._fixed = _desc(metadata.fixed_line)
        self._mobile = _desc(metadata.mobile)
        self._same = bool(metadata.same_mobile_and_fixed_line_pattern)

    def type_of(self, nsn: str) -> int:
        kinds = phonenumbers.PhoneNumberType
        if not _matches(self._general, nsn):
            return kinds.UNKNOWN
        for kind, desc in self._others:
            if _matches(desc, nsn):
                return kind
        if _matches(self._fixed, nsn):
            return kinds.FIXED_LINE_OR_MOBILE if self._same or _matches(self._mobile, nsn) else kinds.FIXED_LINE
        if not self._same and _matches(self._mobile, nsn):
            return kinds.MOBILE
        return kinds.UNKNOWN


@functools.cache
def _type_rules(country_code: int, region: str) -> _TypeRules | None:
    metadata = phonemetadata.PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    return None if metadata is None else _TypeRules(metadata)


@functools.cache
def _zones_of_every_number(country_code: int) -> tuple[str, ...] | None:
    """The time zones of every valid number of a country code, if phonenumbers maps all of its prefixes
    (and the country code itself) to the same zones; else None (the number's own prefix decides)."""
    code = str(country_code)
    found = {zones for prefix, zones in TIMEZONE_DATA.items() if prefix.startswith(code)}
    if code not in TIMEZONE_DATA or len(found) != 1:
        return None
    return tuple(z for z in TIMEZONE_DATA[code] if z != _UNKNOWN_ZONE)


def number_facts(e164: str) -> NumberFacts:
    """Region, subdivisions and every candidate time zone of a number (empty zones = unknown).

    Not cached here: a cache keyed by the number would keep plaintext numbers in memory. The dialing
    hot path caches the result by blind index instead (dialing/_facts.CalleeFactsCache)."""
    region = valid_e164_region(e164)
    if region is not None and region not in _SUBDIVIDED_REGIONS:
        zones = _zones_of_every_number(phonenumbers.country_code_for_region(region))
        if zones is not None:
            return NumberFacts(region=region, subdivisions=frozenset(), time_zones=zones)
    country = _country_of_number(e164) if region is not None else None
    code = int(e164[1 : country[0]]) if country is not None else None
    rules = _type_rules(code, region) if code is not None and region is not None else None
    if country is None or code is None or region is None or rules is None:  # not a stored number: the general path
        number = phonenumbers.parse(e164, None)
        region = phonenumbers.region_code_for_number(number)
        zones = tuple(z for z in timezone.time_zones_for_number(number) if z != _UNKNOWN_ZONE)
        return NumberFacts(region=region, subdivisions=_subdivisions(number, region), time_zones=zones)
    # What time_zones_for_number and description_for_number decide, with the number's type found once and
    # its prefixes looked up in its E.164 digits (phonenumbers formats the number back to them each time).
    kind = rules.type_of(e164[country[0] :])
    if kind == phonenumbers.PhoneNumberType.UNKNOWN:
        return NumberFacts(region=region, subdivisions=frozenset(), time_zones=())
    if not phonenumbers.is_number_type_geographical(kind, code):  # the country's zones
        built = e164_number(e164)
        assert built is not None, "a valid number's E.164 text builds its number"
        zones = tuple(z for z in timezone.time_zones_for_number(built) if z != _UNKNOWN_ZONE)
        return NumberFacts(region=region, subdivisions=frozenset(), time_zones=zones)
    return NumberFacts(
        region=region, subdivisions=_geographic_subdivisions(e164, code, region), time_zones=_geographic_zones(e164[1:])
    )
