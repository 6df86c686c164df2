"""The demo academic year: the one containing today, its quarters, holidays and study
days, and the moments lessons and records are dated with."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

# The region's clock is Moscow time (UTC+3, no daylight saving); timestamps are stored
# in naive UTC like ``shared.sessions.utcnow``.
UTC_OFFSET = timedelta(hours=3)


@dataclass
class Calendar:
    """The academic year containing ``today`` (in summer: the one just finished)."""

    today: date
    starts: date
    ends: date
    periods: list[tuple[date, date]]
    holidays: list[tuple[str, date, date]]
    school_days: list[date] = field(default_factory=list)

    @classmethod
    def of(cls, today: date) -> Calendar:
        first = today.year if today.month >= 9 else today.year - 1
        y = first
        periods = [
            (date(y, 9, 1), date(y, 10, 24)),
            (date(y, 11, 3), date(y, 12, 28)),
            (date(y + 1, 1, 9), date(y + 1, 3, 21)),
            (date(y + 1, 3, 30), date(y + 1, 5, 31)),
        ]
        holidays = [
            ("Осенние каникулы", date(y, 10, 25), date(y, 11, 2)),
            ("День народного единства", date(y, 11, 4), date(y, 11, 4)),
            ("Зимние каникулы", date(y, 12, 29), date(y + 1, 1, 8)),
            ("День защитника Отечества", date(y + 1, 2, 23), date(y + 1, 2, 23)),
            ("Международный женский день", date(y + 1, 3, 8), date(y + 1, 3, 8)),
            ("Весенние каникулы", date(y + 1, 3, 22), date(y + 1, 3, 29)),
            ("Праздник Весны и Труда", date(y + 1, 5, 1), date(y + 1, 5, 1)),
            ("День Победы", date(y + 1, 5, 9), date(y + 1, 5, 9)),
        ]
        # Only the holidays on weekdays matter to the timetable (and are shown).
        holidays = [h for h in holidays if h[1] != h[2] or h[1].isoweekday() <= 5]
        calendar = cls(today, date(y, 9, 1), date(y + 1, 5, 31), periods, holidays)
        off = {
            start + timedelta(days=i)
            for _name, start, end in holidays
            for i in range((end - start).days + 1)
        }
        day = calendar.starts
        while day <= calendar.ends:
            if day.isoweekday() <= 5 and day not in off:
                calendar.school_days.append(day)
            day += timedelta(days=1)
        return calendar

    @property
    def name(self) -> str:
        return f"{self.starts.year}/{self.ends.year}"

    @property
    def taught(self) -> int:
        """How many school days have had their lessons (today's included)."""
        return bisect_right(self.school_days, self.today)

    def finished_periods(self) -> list[int]:
        return [i for i, (_start, end) in enumerate(self.periods) if end < self.today]

    def period_of(self, day: date) -> int:
        """The period a school day belongs to (the last one begun by then)."""
        return max(0, bisect_right([start for start, _end in self.periods], day) - 1)

    def week_for_changes(self) -> list[date]:
        """School days of this week (of next week at a weekend or in a holiday week)."""
        monday = self.today - timedelta(days=self.today.weekday())
        if self.today.isoweekday() > 5:
            monday += timedelta(days=7)
        days = set(self.school_days)
        for _ in range(4):
            week = [monday + timedelta(days=i) for i in range(5)]
            if any(d in days for d in week):
                return [d for d in week if d in days]
            monday += timedelta(days=7)
        return []


def utc(day: date, at: time) -> datetime:
    return datetime.combine(day, at) - UTC_OFFSET


def weekday_on_or_after(day: date) -> date:
    while day.isoweekday() > 5:
        day += timedelta(days=1)
    return day
