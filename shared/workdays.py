"""Working days by the Russian production calendar (производственный календарь).

Terms of public services are counted in working days: Saturdays and Sundays, the public
holidays of Labour Code art. 112 and the days off the Government moves each year by
decree are not counted, and a Saturday the decree makes a working day is. The
``holidays`` package keeps those decrees year by year (holidays and ``weekend_workdays``);
this module only asks it.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

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
