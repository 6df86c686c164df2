"""A student's diary week: its days' lessons (the timetable, its changes, the lessons
held), topics, homework due, marks, absences, notices and remarks, as far as the
viewer's ``Reach`` covers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta

import sqlalchemy as sa

import diary_service.clock as clock
from diary_service.access import Reach, classes_on
from diary_service.diary.acknowledgements import acknowledgements_of
from diary_service.diary.pages import WEEK_LENGTH, monday_of
from diary_service.extensions import db
from diary_service.journal.queries import (
    attendance_at_lessons,
    homework_due,
    lessons_of_classes,
    marks_at_lessons,
    remarks_between,
)
from diary_service.models.family import Acknowledgement
from diary_service.models.journal import (
    Attendance,
    Homework,
    Lesson,
    Mark,
    Remark,
)
from diary_service.models.school import (
    Holiday,
    Notice,
    SchoolClass,
    StaffMember,
    Student,
    Subject,
    TimetableChange,
)
from diary_service.school.timetable import Slot, days, holidays_between, slots


@dataclass
class LessonRow:
    """One lesson of the week as the family sees it."""

    on_date: date
    lesson_number: int
    starts_at: time | None
    ends_at: time | None
    subject: Subject
    teacher: StaffMember
    regular_teacher: StaffMember
    room: str
    change: TimetableChange | None
    lesson: Lesson | None
    marks: list[Mark] = field(default_factory=list)
    attendance: Attendance | None = None
    homework: Homework | None = None  # set at this lesson (when the viewer may see it)

    @property
    def cancelled(self) -> bool:
        return (self.change is not None and self.change.kind == "cancellation") or (
            self.lesson is not None and self.lesson.cancelled
        )

    @property
    def substituted(self) -> bool:
        return self.change is not None and self.change.kind == "substitution"

    @property
    def room_changed(self) -> bool:
        return self.change is not None and bool(self.change.room) and not self.cancelled

    @property
    def topic(self) -> str:
        return self.lesson.topic if self.lesson is not None else ""


@dataclass
class Day:
    on_date: date
    school_class: SchoolClass | None
    lessons: list[LessonRow] = field(default_factory=list)
    holiday: Holiday | None = None
    due: list[Homework] = field(default_factory=list)  # homework due on this day
    quarantines: list[Notice] = field(default_factory=list)


@dataclass
class Week:
    student: Student
    monday: date
    sections: frozenset[str]
    days: list[Day]
    notices: list[Notice]
    remarks: list[RemarkRow]
    acknowledgements: list[Acknowledgement]

    @property
    def saturday(self) -> date:
        return self.monday + timedelta(days=WEEK_LENGTH - 1)

    @property
    def previous(self) -> date:
        return self.monday - timedelta(days=7)

    @property
    def next(self) -> date:
        return self.monday + timedelta(days=7)

    def acknowledged_by(self, person_id: int | None) -> Acknowledgement | None:
        return next((a for a in self.acknowledgements if a.person_id == person_id), None)


def _row_from_slot(slot: Slot, lesson: Lesson | None) -> LessonRow:
    return LessonRow(
        on_date=slot.on_date,
        lesson_number=slot.lesson_number,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        subject=slot.subject,
        teacher=slot.teacher,
        regular_teacher=slot.regular_teacher,
        room=slot.room,
        change=slot.change,
        lesson=lesson,
    )


def _row_from_lesson(lesson: Lesson) -> LessonRow:
    """A lesson the teacher added outside the timetable (no slot for it)."""
    bell = next(
        (b for b in lesson.school_class.school.bells if b.number == lesson.lesson_number), None
    )
    return LessonRow(
        on_date=lesson.on_date,
        lesson_number=lesson.lesson_number,
        starts_at=bell.starts_at if bell else None,
        ends_at=bell.ends_at if bell else None,
        subject=lesson.subject,
        teacher=lesson.teacher,
        regular_teacher=lesson.teacher,
        room="",
        change=None,
        lesson=lesson,
    )


def week_of(student: Student, day: date, reach: Reach) -> Week:
    """The student's diary for the Monday–Saturday week containing ``day``: per day the
    lessons with their changes, topics, homework (set and due), marks and attendance,
    and for the week the notices in force, the remarks to parents and who acknowledged
    it. Only what the ``reach`` covers is loaded: a day outside the viewer's spans is
    empty for them."""
    sections = reach.sections
    monday = monday_of(day)
    saturday = monday + timedelta(days=WEEK_LENGTH - 1)
    week_days = days(monday, saturday)
    class_on: dict[date, SchoolClass | None] = {}
    enrolled = classes_on(student, week_days)
    for d in week_days:
        school_class = enrolled[d]
        shown = school_class is not None and reach.sees("schedule", school_class.id, d)
        class_on[d] = school_class if shown else None
    classes = {c.id: c for c in class_on.values() if c is not None}

    slots_by_day: dict[date, list[Slot]] = {}
    for school_class in classes.values():
        for slot in slots(school_class, monday, saturday):
            if class_on[slot.on_date] is school_class:
                slots_by_day.setdefault(slot.on_date, []).append(slot)

    lessons = {
        (lesson.class_id, lesson.on_date, lesson.lesson_number): lesson
        for lesson in lessons_of_classes(classes, monday, saturday)
    }
    marks_by_lesson = _by_lesson(_week_marks(student, lessons.values(), reach))
    attendance_by_lesson = {
        row.lesson_id: row for row in _week_attendance(student, lessons.values(), reach)
    }
    due = _due_homework(classes, monday, saturday, reach)
    notices = _notices(student, classes, monday, saturday, reach)

    result = []
    for d in week_days:
        school_class = class_on[d]
        result_day = Day(on_date=d, school_class=school_class)
        result.append(result_day)
        if school_class is None:
            continue
        result_day.holiday = next(iter(holidays_between(school_class.year, d, d)), None)
        seen = set()
        for slot in slots_by_day.get(d, []):
            key = (school_class.id, d, slot.lesson_number)
            seen.add(key)
            result_day.lessons.append(_row_from_slot(slot, lessons.get(key)))
        for key, lesson in lessons.items():
            if key[0] == school_class.id and key[1] == d and key not in seen:
                result_day.lessons.append(_row_from_lesson(lesson))
        result_day.lessons.sort(key=lambda row: row.lesson_number)
        for row in result_day.lessons:
            if row.lesson is not None:
                row.marks = marks_by_lesson.get(row.lesson.id, [])
                row.attendance = attendance_by_lesson.get(row.lesson.id)
                if reach.sees("homework", school_class.id, d):
                    row.homework = row.lesson.homework
        result_day.due = [hw for hw in due if hw.due_on == d]
        result_day.quarantines = [
            n for n in notices if n.kind == "quarantine" and _in_force(n, d, d)
        ]
    return Week(
        student=student,
        monday=monday,
        sections=sections,
        days=result,
        notices=notices,
        remarks=_week_remarks(student, monday, saturday, reach),
        # Who read the week: for staff, only a week with days of theirs.
        acknowledgements=acknowledgements_of(student, monday) if classes else [],
    )


def _by_lesson(marks: list[Mark]) -> dict[int, list[Mark]]:
    result: dict[int, list[Mark]] = {}
    for mark in marks:
        result.setdefault(mark.lesson_id, []).append(mark)
    return result


def _week_marks(student: Student, lessons, reach: Reach) -> list[Mark]:
    ids = [lesson.id for lesson in lessons]
    if "marks" not in reach.sections or not ids:
        return []
    return marks_at_lessons(student.id, ids, reach.where("marks", Lesson.class_id, Lesson.on_date))


def _week_attendance(student: Student, lessons, reach: Reach) -> list[Attendance]:
    ids = [lesson.id for lesson in lessons]
    if "attendance" not in reach.sections or not ids:
        return []
    return attendance_at_lessons(
        student.id, ids, reach.where("attendance", Lesson.class_id, Lesson.on_date)
    )


def _due_homework(
    classes: dict[int, SchoolClass], monday: date, saturday: date, reach: Reach
) -> list[Homework]:
    if "homework" not in reach.sections or not classes:
        return []
    return homework_due(
        classes, monday, saturday, reach.where("homework", Lesson.class_id, Lesson.on_date)
    )


def _in_force(notice: Notice, start: date, end: date) -> bool:
    return notice.starts_on <= end and (notice.ends_on is None or notice.ends_on >= start)


def _notices(
    student: Student, classes: dict[int, SchoolClass], start: date, end: date, reach: Reach
) -> list[Notice]:
    """Notices of the student's school and class(es) in force during the span, as far
    as the viewer's reach goes; quarantines first."""
    school_ids = {c.school_id for c in classes.values()}
    if not school_ids and "schedule" in reach.whole and student.school_id:
        school_ids = {student.school_id}
    if not school_ids:
        return []
    notices = db.session.execute(
        sa.select(Notice)
        .where(
            Notice.school_id.in_(school_ids),
            sa.or_(Notice.class_id.is_(None), Notice.class_id.in_(list(classes))),
            Notice.starts_on <= end,
            sa.or_(Notice.ends_on.is_(None), Notice.ends_on >= start),
        )
        .order_by(Notice.starts_on.desc(), Notice.id.desc())
    ).scalars()
    return sorted(
        (n for n in notices if sees_notice(reach, n)), key=lambda n: n.kind != "quarantine"
    )


def sees_notice(reach: Reach, notice: Notice) -> bool:
    return reach.sees_between(
        "schedule", notice.school_id, notice.class_id, notice.starts_on, notice.ends_on
    )


@dataclass
class RemarkRow:
    remark: Remark
    on_date: date  # the lesson's, or the day it was written


def _week_remarks(student: Student, monday: date, saturday: date, reach: Reach) -> list[RemarkRow]:
    """Teachers' remarks to the parents about this week: on its lessons, or written
    during it when tied to no lesson (staff: at lessons of their spans, or written then
    at their span's school)."""
    if "remarks" not in reach.sections:
        return []
    rows = remarks_between(student.id, monday, saturday)
    return sorted(
        (
            RemarkRow(remark=remark, on_date=on or clock.day_of(remark.created_at))
            for remark, on, class_id, school_id in rows
            if (
                reach.sees("remarks", class_id, on)
                if on is not None
                else reach.sees_at_school("remarks", school_id, clock.day_of(remark.created_at))
            )
        ),
        key=lambda row: row.on_date,
    )
