"""Time zones, public holidays and calendar arithmetic (all pure; results cached)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ._model import Period

if TYPE_CHECKING:
    import holidays

__all__ = ["add_months", "add_period", "is_public_holiday", "is_working_day", "zone"]


@lru_cache(maxsize=1024)
def zone(name: str) -> tzinfo:
    """The zone for an IANA name (raises for unknown names; callers treat that as an unknown zone)."""
    return ZoneInfo(name)


@lru_cache(maxsize=256)
def _holidays(country: str, subdiv: str | None) -> holidays.HolidayBase:
    # Imported here, as in `_holiday_dates`: the package takes ~0.15 s to load, which every CLI start (an
    # import included) paid without using it. A server loads it at start (`preload_phone_data`).
    import holidays  # noqa: PLC0415

    try:
        return holidays.country_holidays(country, subdiv=subdiv)
    except NotImplementedError:
        if subdiv is None:
            raise
        return holidays.country_holidays(country)


@lru_cache(maxsize=4096)
def _holiday_dates(country: str, subdiv: str | None, year: int) -> frozenset[date]:
    import holidays  # noqa: PLC0415

    try:
        table = holidays.country_holidays(country, subdiv=subdiv, years=year)
    except NotImplementedError:
        if subdiv is None:
            raise
        table = holidays.country_holidays(country, years=year)
    return frozenset(table)


def is_public_holiday(day: date, country: str, subdiv: str | None = None) -> bool:
    return day in _holiday_dates(country, subdiv, day.year)


def _split(country: str) -> tuple[str, str | None]:
    head, _, tail = country.partition("-")
    return head, tail or None


def is_working_day(day: date, country: str | None) -> bool:
    """Mon-Fri outside public holidays; with a country, its own rules (e.g. CN weekend make-up workdays)."""
    if country is None:
        return day.weekday() < 5
    head, subdiv = _split(country)
    result: bool = _holidays(head, subdiv).is_working_day(day)
    return result


def add_months(moment: datetime, months: int) -> datetime:
    """Same day `months` later; a day past the month's end clamps to its last day (Jan 31 + 1 = Feb 28/29)."""
    total = moment.month - 1 + months
    year, month = moment.year + total // 12, total % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def add_period(start: datetime, period: Period, holiday_country: str | None, time_zone: str | None) -> datetime:
    """`start` moved on by `period`, counted in `time_zone` (default UTC) at the same wall time; UTC result."""
    local = start.astimezone(zone(time_zone) if time_zone else UTC)
    if period.months is not None:
        moved = add_months(local, period.months)
    elif period.days is not None:
        moved = local + timedelta(days=period.days)
    else:
        assert period.working_days is not None
        day, counted = local.date(), 0
        while counted < period.working_days:
            day += timedelta(days=1)
            if is_working_day(day, holiday_country):
                counted += 1
        moved = local.replace(year=day.year, month=day.month, day=day.day)
    return moved.astimezone(UTC)
