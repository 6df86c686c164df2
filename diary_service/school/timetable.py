"""The weekly timetable made concrete: which lessons a class has on which dates.

``slots`` expands a class's weekly ``TimetableEntry`` rows over a date range, skipping
days outside the academic year and its holidays, and applies the dated
``TimetableChange`` rows: a substitution names who gives the lesson instead, a
cancellation keeps the slot but marks it cancelled (families must see it), a room change
moves it. The journal creates its ``Lesson`` rows from these slots, and the family's week
view shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

import sqlalchemy as sa

from diary_service.extensions import db
from diary_service.school.models import (
    AcademicYear,
    Bell,
    Holiday,
    Period,
    SchoolClass,
    StaffMember,
    Subject,
    TimetableChange,
    TimetableEntry,
)


@dataclass(frozen=True)
class Slot:
    on_date: date
    lesson_number: int
    starts_at: time | None
    ends_at: time | None
    subject: Subject
    teacher: StaffMember  # who gives the lesson that day (the substitute if there is one)
    regular_teacher: StaffMember
    room: str
    change: TimetableChange | None

    @property
    def cancelled(self) -> bool:
        return self.change is not None and self.change.kind == "cancellation"


def days(start: date, end: date) -> list[date]:
    """Every date from ``start`` to ``end`` inclusive."""
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def is_holiday(year: AcademicYear, day: date) -> bool:
    return any(holiday.starts_on <= day <= holiday.ends_on for holiday in year.holidays)


def is_study_day(year: AcademicYear, day: date) -> bool:
    """A day inside the academic year that is not a holiday (weekends are decided by
    the timetable: a class with no Saturday entries has no Saturday lessons)."""
    return year.starts_on <= day <= year.ends_on and not is_holiday(year, day)


def period_on(year: AcademicYear, day: date) -> Period | None:
    """The period containing ``day``; between periods (holidays), the one just ended."""
    found = None
    for period in year.periods:
        if period.starts_on <= day:
            found = period
        if period.starts_on <= day <= period.ends_on:
            return period
    return found


def slots(school_class: SchoolClass, start: date, end: date) -> list[Slot]:
    """The class's lessons from ``start`` to ``end`` inclusive, ordered by date and
    lesson number, with the day's changes applied."""
    year = school_class.year
    entries = list(
        db.session.execute(
            sa.select(TimetableEntry).where(TimetableEntry.class_id == school_class.id)
        ).scalars()
    )
    by_weekday: dict[int, list[TimetableEntry]] = {}
    for entry in entries:
        by_weekday.setdefault(entry.weekday, []).append(entry)
    changes = {
        (change.on_date, change.lesson_number): change
        for change in db.session.execute(
            sa.select(TimetableChange).where(
                TimetableChange.class_id == school_class.id,
                TimetableChange.on_date >= start,
                TimetableChange.on_date <= end,
            )
        ).scalars()
    }
    bells = {
        bell.number: bell
        for bell in db.session.execute(
            sa.select(Bell).where(Bell.school_id == school_class.school_id)
        ).scalars()
    }
    result = []
    for day in days(start, end):
        if not is_study_day(year, day):
            continue
        for entry in sorted(by_weekday.get(day.isoweekday(), []), key=lambda e: e.lesson_number):
            change = changes.get((day, entry.lesson_number))
            teacher = entry.teacher
            room = entry.room
            if change is not None and change.kind == "substitution" and change.substitute:
                teacher = change.substitute
            if change is not None and change.room:
                room = change.room
            bell = bells.get(entry.lesson_number)
            result.append(
                Slot(
                    on_date=day,
                    lesson_number=entry.lesson_number,
                    starts_at=bell.starts_at if bell else None,
                    ends_at=bell.ends_at if bell else None,
                    subject=entry.subject,
                    teacher=teacher,
                    regular_teacher=entry.teacher,
                    room=room,
                    change=change,
                )
            )
    return result


def holidays_between(year: AcademicYear, start: date, end: date) -> list[Holiday]:
    return [h for h in year.holidays if h.starts_on <= end and h.ends_on >= start]
