"""The weekly timetable made concrete: which lessons a class has on which dates.

``slots`` expands a class's weekly ``TimetableEntry`` rows over a date range, skipping
days outside the academic year and its holidays, and applies the dated
``TimetableChange`` rows: a substitution names who gives the lesson instead, a
cancellation keeps the slot but marks it cancelled (families must see it), a room change
moves it. The journal creates its ``Lesson`` rows from these slots, and the family's week
view shows them.

The school's administrators keep the weekly timetable (``save_timetable``: every cell
at once, no teacher in two classes at the same lesson) and its dated changes
(``add_change``, ``remove_change``, which tell the journal through
``timetable_changed``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from diary_service.extensions import db
from diary_service.models.school import (
    TIMETABLE_CHANGE_KINDS,
    WEEKDAYS,
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
from diary_service.school.base import clean_text, commit, get, invalid
from diary_service.school.calendar import lesson_numbers
from diary_service.school.classes import class_assignments
from diary_service.school.staff import teacher_of
from diary_service.signals import timetable_changed
from shared.errors import ValidationError


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
            sa.select(TimetableEntry)
            # Every slot shows its subject and teacher: one query each, not one a slot.
            .options(selectinload(TimetableEntry.subject), selectinload(TimetableEntry.teacher))
            .where(TimetableEntry.class_id == school_class.id)
        ).scalars()
    )
    by_weekday: dict[int, list[TimetableEntry]] = {}
    for entry in entries:
        by_weekday.setdefault(entry.weekday, []).append(entry)
    changes = {
        (change.on_date, change.lesson_number): change
        for change in db.session.execute(
            sa.select(TimetableChange)
            .options(selectinload(TimetableChange.substitute))
            .where(
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


def subject_slots(
    school_class: SchoolClass, subject_id: int, start: date, end: date
) -> list[tuple[date, int, bool]]:
    """``slots`` of one subject as (date, lesson number, cancelled), in the same order:
    for the pages that need only where the subject's lessons fall (the journal's
    unopened columns, the next lesson's date), without the subjects, teachers and bells
    a slot carries."""
    year = school_class.year
    numbers: dict[int, list[int]] = {}
    for weekday, number in db.session.execute(
        sa.select(TimetableEntry.weekday, TimetableEntry.lesson_number).where(
            TimetableEntry.class_id == school_class.id, TimetableEntry.subject_id == subject_id
        )
    ).all():
        numbers.setdefault(weekday, []).append(number)
    if not numbers:
        return []
    cancelled = set(
        db.session.execute(
            sa.select(TimetableChange.on_date, TimetableChange.lesson_number).where(
                TimetableChange.class_id == school_class.id,
                TimetableChange.on_date >= start,
                TimetableChange.on_date <= end,
                TimetableChange.kind == "cancellation",
            )
        ).all()
    )
    return [
        (day, number, (day, number) in cancelled)
        for day in days(start, end)
        if day.isoweekday() in numbers and is_study_day(year, day)
        for number in sorted(numbers[day.isoweekday()])
    ]


def holidays_between(year: AcademicYear, start: date, end: date) -> list[Holiday]:
    return [h for h in year.holidays if h.starts_on <= end and h.ends_on >= start]


@dataclass(frozen=True)
class Cell:
    """One slot of the weekly grid as the editor sends it (all empty: no lesson)."""

    subject_id: int | None
    teacher_id: int | None
    room: str = ""

    @property
    def empty(self) -> bool:
        return not self.subject_id and not self.teacher_id and not clean_text(self.room)


class TimetableErrors(ValidationError):
    """What is wrong with the grid, by slot ``(weekday, lesson number)``."""

    def __init__(self, cells: dict[tuple[int, int], list[Any]]) -> None:
        self.cells = cells
        super().__init__(next(iter(cells.values()))[0])


def timetable_of(class_id: int) -> dict[tuple[int, int], TimetableEntry]:
    return {
        (entry.weekday, entry.lesson_number): entry
        for entry in db.session.execute(
            sa.select(TimetableEntry).where(TimetableEntry.class_id == class_id)
        ).scalars()
    }


def _busy_elsewhere(school_class: SchoolClass) -> dict[tuple[int, int, int], SchoolClass]:
    """(teacher, weekday, lesson) → the other class of the same school year there."""
    rows = db.session.execute(
        sa.select(TimetableEntry, SchoolClass)
        .join(SchoolClass, SchoolClass.id == TimetableEntry.class_id)
        .where(
            SchoolClass.school_id == school_class.school_id,
            SchoolClass.year_id == school_class.year_id,
            SchoolClass.id != school_class.id,
        )
    ).all()
    return {
        (
            row.TimetableEntry.teacher_id,
            row.TimetableEntry.weekday,
            row.TimetableEntry.lesson_number,
        ): (row.SchoolClass)
        for row in rows
    }


def _changes_teacher(entry: TimetableEntry | None, cell: Cell) -> bool:
    """Does the cell put a teacher where they were not before? Only such cells are
    checked for double booking, so a clash already in the data (an import, a timetable
    saved before this rule) does not block editing the rest of the week."""
    return entry is None or entry.teacher_id != cell.teacher_id


def save_timetable(class_id: int, cells: Mapping[tuple[int, int], Cell]) -> None:
    """Replace the class's weekly timetable with the grid. Each lesson needs a subject
    and a teacher who teaches that subject in this class; no teacher may stand in two
    classes of the school at the same time. All of it is saved, or nothing."""
    school_class = get(SchoolClass, class_id)
    numbers = set(lesson_numbers(school_class.school_id))
    teaches = {(a.subject_id, a.teacher_id) for a in class_assignments(class_id)}
    busy = _busy_elsewhere(school_class)
    existing = timetable_of(class_id)
    errors: dict[tuple[int, int], list[Any]] = {}
    wanted: dict[tuple[int, int], Cell] = {}
    for slot, cell in cells.items():
        weekday, number = slot
        if cell.empty:
            continue
        problems = errors.setdefault(slot, [])
        if weekday not in WEEKDAYS or number not in numbers:
            problems.append(_l("There is no such lesson in the bell schedule."))
        elif not cell.subject_id or not cell.teacher_id:
            problems.append(_l("Choose both the subject and the teacher."))
        elif (cell.subject_id, cell.teacher_id) not in teaches:
            problems.append(_l("This teacher does not teach this subject in the class."))
        elif (cell.teacher_id, weekday, number) in busy and _changes_teacher(
            existing.get(slot), cell
        ):
            problems.append(
                _l(
                    "The teacher already has a lesson in %(name)s at this time.",
                    name=busy[(cell.teacher_id, weekday, number)].name,
                )
            )
        elif len(clean_text(cell.room)) > 30:
            problems.append(_l("The room is at most 30 characters."))
        if not problems:
            del errors[slot]
            wanted[slot] = cell
    if errors:
        raise TimetableErrors(errors)
    for slot, entry in existing.items():
        if slot not in wanted:
            db.session.delete(entry)
    for (weekday, number), cell in wanted.items():
        entry = existing.get((weekday, number))
        if entry is None:
            entry = TimetableEntry(class_id=class_id, weekday=weekday, lesson_number=number)
            db.session.add(entry)
        entry.subject_id = cell.subject_id
        entry.teacher_id = cell.teacher_id
        entry.room = clean_text(cell.room)
    commit()


def changes_on(school_id: int, on: date) -> list[tuple[TimetableChange, TimetableEntry | None]]:
    """The school's timetable changes on a day, with the lesson each one changes."""
    changes = db.session.execute(
        sa.select(TimetableChange)
        .join(SchoolClass, SchoolClass.id == TimetableChange.class_id)
        .where(SchoolClass.school_id == school_id, TimetableChange.on_date == on)
        .order_by(SchoolClass.grade, SchoolClass.letter, TimetableChange.lesson_number)
    ).scalars()
    return [
        (change, timetable_of(change.class_id).get((on.isoweekday(), change.lesson_number)))
        for change in changes
    ]


def _substitute_busy(
    school_class: SchoolClass, member: StaffMember, on: date, number: int
) -> SchoolClass | None:
    """The class the substitute already teaches at that lesson that day, if any: their
    own timetable lesson (unless it is cancelled or given by someone else) or another
    substitution."""
    taken = db.session.execute(
        sa.select(SchoolClass)
        .join(TimetableChange, TimetableChange.class_id == SchoolClass.id)
        .where(
            TimetableChange.on_date == on,
            TimetableChange.lesson_number == number,
            TimetableChange.substitute_id == member.id,
            TimetableChange.kind == "substitution",
        )
    ).scalar_one_or_none()
    if taken is not None:
        return taken
    for other in db.session.execute(
        sa.select(SchoolClass)
        .join(TimetableEntry, TimetableEntry.class_id == SchoolClass.id)
        .where(
            SchoolClass.year_id == school_class.year_id,
            SchoolClass.id != school_class.id,
            TimetableEntry.teacher_id == member.id,
            TimetableEntry.weekday == on.isoweekday(),
            TimetableEntry.lesson_number == number,
        )
    ).scalars():
        freed = db.session.execute(
            sa.select(TimetableChange.id).where(
                TimetableChange.class_id == other.id,
                TimetableChange.on_date == on,
                TimetableChange.lesson_number == number,
                TimetableChange.kind.in_(("substitution", "cancellation")),
            )
        ).first()
        if not freed:
            return other
    return None


def add_change(
    class_id: int,
    on: date,
    lesson_number: int,
    kind: str,
    substitute_id: int | None = None,
    room: str = "",
    note: str = "",
    created_by_id: int | None = None,
) -> TimetableChange:
    """A substitution (with the substitute teacher), a cancellation or a room change of
    one lesson of the class's timetable on a day."""
    school_class = get(SchoolClass, class_id)
    year = school_class.year
    if kind not in TIMETABLE_CHANGE_KINDS:
        raise invalid("kind", _l("Choose what changes."))
    if not year.starts_on <= on <= year.ends_on:
        raise invalid("on_date", _l("The date is outside the class's academic year."))
    if is_holiday(year, on):
        raise invalid("on_date", _l("The date falls on holidays."))
    entry = timetable_of(class_id).get((on.isoweekday(), lesson_number))
    if entry is None:
        raise invalid("lesson_number", _l("The class has no lesson at this number on that day."))
    taken = db.session.execute(
        sa.select(TimetableChange.id).where(
            TimetableChange.class_id == class_id,
            TimetableChange.on_date == on,
            TimetableChange.lesson_number == lesson_number,
        )
    ).first()
    if taken:
        raise invalid(
            "lesson_number", _l("This lesson already has a change; remove it first to replace it.")
        )
    room = clean_text(room)
    substitute = None
    if kind == "substitution":
        substitute = teacher_of(school_class.school_id, substitute_id, "substitute_id")
        if substitute.id == entry.teacher_id:
            raise invalid("substitute_id", _l("The substitute is the lesson's own teacher."))
        busy = _substitute_busy(school_class, substitute, on, lesson_number)
        if busy is not None:
            raise invalid(
                "substitute_id",
                _l("The teacher already has a lesson in %(name)s at this time.", name=busy.name),
            )
    elif kind == "room_change" and not room:
        raise invalid("room", _l("Enter the new room."))
    change = TimetableChange(
        class_id=class_id,
        on_date=on,
        lesson_number=lesson_number,
        kind=kind,
        substitute_id=substitute.id if substitute else None,
        room=room if kind != "cancellation" else "",
        note=clean_text(note),
        created_by_id=created_by_id,
    )
    db.session.add(change)
    commit()
    _changed(school_class, on, lesson_number)
    return change


def remove_change(change_id: int) -> None:
    change = get(TimetableChange, change_id)
    school_class, on, number = change.school_class, change.on_date, change.lesson_number
    db.session.delete(change)
    commit()
    _changed(school_class, on, number)


def _changed(school_class: SchoolClass, on: date, lesson_number: int) -> None:
    """Tell the listeners (the journal keeps an opened lesson in step) once committed."""
    timetable_changed.send(
        current_app._get_current_object(),
        school_class=school_class,
        on_date=on,
        lesson_number=lesson_number,
    )
