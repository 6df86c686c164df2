"""Working days by the Russian production calendar (производственный календарь).

Terms of public services are counted in working days: Saturdays and Sundays, the public
holidays of Labour Code art. 112 and the days off the Government moves each year by
decree are not counted, and a Saturday the decree makes a working day is. The
``holidays`` package keeps those decrees year by year (holidays and ``weekend_workdays``);
this module only asks it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays


@lru_cache(maxsize=16)
def _calendar(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("RU", years=year)


def is_working_day(day: date) -> bool:
    """A working day: not a public holiday or a moved day off, and a weekday unless the
    Government made this Saturday or Sunday a working day."""
    calendar = _calendar(day.year)
    if day in calendar:
        return False
    return day.weekday() < 5 or day in calendar.weekend_workdays


def add_working_days(start: date, days: int) -> date:
    """The day ``days`` working days after ``start``; counting starts the day after it
    (a term of 3 working days from Friday ends on Wednesday)."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    while days:
        day += timedelta(days=1)
        if is_working_day(day):
            days -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """How many working days fall in (``start``, ``end``]; 0 when ``end`` is not after
    ``start``."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count


def local_day(moment: datetime, zone: str) -> date:
    """The day a moment (naive UTC) falls on in the time zone ``zone``."""
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).date()


def term_end(received_at: datetime, days: int, zone: str) -> date:
    """The last day of a term of ``days`` working days for something received at
    ``received_at`` (naive UTC): counted from the day after its date in ``zone``."""
    return add_working_days(local_day(received_at, zone), days)
