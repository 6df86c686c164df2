"""What the journal's pages show: a class's grid of marks and absences for a subject
over a period, and one lesson's sheet."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from diary_service.extensions import db
from diary_service.journal.base import ClassMember, class_members, students_on
from diary_service.journal.lessons import lessons_between
from diary_service.journal.queries import (
    SubjectSummary,
    current_marks,
    current_policy,
    rule_of,
    summarize,
)
from diary_service.models.journal import (
    Attendance,
    Lesson,
    Mark,
    Remark,
)
from diary_service.models.partitions import school_year_of
from diary_service.models.school import (
    Period,
    SchoolClass,
    Student,
    Subject,
)
from diary_service.school.policy import Rule
from diary_service.school.timetable import subject_slots


@dataclass
class Column:
    """A dated lesson of the grid; ``lesson`` is None for a timetable slot that nobody
    has opened yet."""

    on_date: date
    lesson_number: int
    lesson: Lesson | None = None
    cancelled: bool = False


@dataclass
class Cell:
    marks: list[Mark] = field(default_factory=list)
    attendance: Attendance | None = None


@dataclass
class GridRow:
    member: ClassMember
    active: bool  # enrolled at the end of the period (or today); leavers are greyed
    cells: dict[int, Cell]
    summary: SubjectSummary


@dataclass
class Grid:
    school_class: SchoolClass
    subject: Subject
    period: Period
    columns: list[Column]
    rows: list[GridRow]
    rule: Rule  # the school's mark policy in force


def journal_grid(school_class: SchoolClass, subject: Subject, period: Period, today: date) -> Grid:
    """The journal of a class and subject for a period: its students (leavers too),
    its dated lessons (the timetable's slots nobody has opened yet as placeholders) and
    per student and lesson the current marks and attendance. Reads only."""
    start, end = period.starts_on, period.ends_on
    lessons = lessons_between(school_class, subject.id, start, end)
    columns = [
        Column(lesson.on_date, lesson.lesson_number, lesson, lesson.cancelled) for lesson in lessons
    ]
    taken = {(c.on_date, c.lesson_number) for c in columns}
    # The timetable's slots nobody has opened yet (a GET creates no lesson): the teacher
    # opens one from its column.
    columns += [
        Column(on, number)
        for on, number, cancelled in subject_slots(school_class, subject.id, start, end)
        if not cancelled and (on, number) not in taken
    ]
    columns.sort(key=lambda c: (c.on_date, c.lesson_number))

    members = class_members(school_class, start, end)
    ids = [m.student.id for m in members]
    marks = current_marks(ids, start, end, subject.id, class_id=school_class.id)
    lesson_ids = [lesson.id for lesson in lessons]
    absences = (
        list(
            db.session.execute(
                sa.select(Attendance).where(
                    Attendance.lesson_id.in_(lesson_ids),
                    Attendance.is_current.is_(True),
                    Attendance.deleted.is_(False),
                )
            ).scalars()
        )
        if lesson_ids
        else []
    )
    cells: dict[int, dict[int, Cell]] = {sid: {} for sid in ids}
    by_student: dict[int, list[Mark]] = {sid: [] for sid in ids}
    for mark in marks:
        cells[mark.student_id].setdefault(mark.lesson_id, Cell()).marks.append(mark)
        by_student[mark.student_id].append(mark)
    for row in absences:
        if row.student_id in cells:
            cells[row.student_id].setdefault(row.lesson_id, Cell()).attendance = row
    rule = rule_of(current_policy(school_class.school_id))
    on = max(start, min(end, today))
    rows = [
        GridRow(
            member=member,
            active=member.enrolled_on(on),
            cells=cells[member.student.id],
            summary=summarize(subject, by_student[member.student.id], rule),
        )
        for member in members
    ]
    return Grid(school_class, subject, period, columns, rows, rule)


@dataclass
class SheetRow:
    student: Student
    marks: list[Mark]  # current, not deleted, in the order given
    attendance: Attendance | None  # the current version (a deletion, if ``deleted``)

    @property
    def code(self) -> str:
        """The attendance code in force ("" when present)."""
        if self.attendance is None or self.attendance.deleted:
            return ""
        return self.attendance.code


@dataclass
class LessonSheet:
    lesson: Lesson
    rows: list[SheetRow]
    remarks: list[Remark]

    def row_of(self, student_id: int) -> SheetRow | None:
        return next((row for row in self.rows if row.student.id == student_id), None)


def lesson_sheet(lesson: Lesson) -> LessonSheet:
    """A lesson's class list with each student's current marks and attendance: the
    students enrolled that day, and anyone else who already has a record there."""
    year = school_year_of(lesson.on_date)
    marks = list(
        db.session.execute(
            sa.select(Mark)
            .where(
                Mark.lesson_id == lesson.id,
                Mark.school_year == year,  # one partition, not every year's
                Mark.is_current.is_(True),
                Mark.deleted.is_(False),
            )
            .order_by(Mark.id)
        ).scalars()
    )
    attendance = {
        row.student_id: row
        for row in db.session.execute(
            sa.select(Attendance).where(
                Attendance.lesson_id == lesson.id,
                Attendance.school_year == year,
                Attendance.is_current.is_(True),
            )
        ).scalars()
    }
    students = {s.id: s for s in students_on(lesson.school_class, lesson.on_date)}
    for mark in marks:
        students.setdefault(mark.student_id, mark.student)
    for row in attendance.values():
        students.setdefault(row.student_id, row.student)
    ordered = sorted(students.values(), key=lambda s: (s.family_name, s.given_name, s.id))
    remarks = list(
        db.session.execute(
            sa.select(Remark).where(Remark.lesson_id == lesson.id).order_by(Remark.id)
        ).scalars()
    )
    return LessonSheet(
        lesson=lesson,
        rows=[
            SheetRow(
                student=student,
                marks=[m for m in marks if m.student_id == student.id],
                attendance=attendance.get(student.id),
            )
            for student in ordered
        ],
        remarks=remarks,
    )
