"""A class's report (its students' averages by subject, attendance, the rating) and a
student's place in the class rating."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from diary_service.access import Reach
from diary_service.extensions import db
from diary_service.journal.queries import (
    current_policy,
    rule_of,
)
from diary_service.models.school import (
    Enrolment,
    Period,
    SchoolClass,
    Student,
    Subject,
    TeachingAssignment,
)
from diary_service.reports.base import HUNDREDTH, Figures, class_period, mean_of_cents
from diary_service.reports.figures import (
    attendance_counts,
    pairs_of,
    roster_of,
    span_for,
    student_figures,
    subject_figures,
)
from shared.errors import NotFound


@dataclass
class Cell:
    """A student's standing in one subject."""

    average: Decimal | None
    suggested: str | None
    final: str | None

    @property
    def mark(self) -> str | None:
        return self.final if self.final is not None else self.suggested


@dataclass
class StudentRow:
    student: Student
    cells: dict[int, Cell] = field(default_factory=dict)  # subject id → cell
    average: Decimal | None = None  # mean of the subject averages
    place: int | None = None
    attendance: Figures = field(default_factory=Figures)


@dataclass
class ClassReport:
    school_class: SchoolClass
    period: Period
    subjects: list[Subject]
    by_subject: dict[int, Figures]
    total: Figures
    students: list[StudentRow]  # by name
    rating_enabled: bool

    @property
    def rating(self) -> list[StudentRow]:
        """Ranked students, best first (empty when the school does not rank)."""
        if not self.rating_enabled:
            return []
        ranked = [row for row in self.students if row.place is not None]
        return sorted(ranked, key=lambda row: (row.place or 0, row.student.full_name))


def _rank(rows: Iterable[StudentRow]) -> None:
    """Places by overall average; equal averages share a place (1, 2, 2, 4)."""
    ranked = sorted(
        (row for row in rows if row.average is not None),
        key=lambda row: row.average or Decimal(0),
        reverse=True,
    )
    previous: Decimal | None = None
    place = 0
    for index, row in enumerate(ranked, start=1):
        if row.average != previous:
            place = index
            previous = row.average
        row.place = place


def class_report(school_class: SchoolClass, period: Period, today: date) -> ClassReport:
    """Per subject and for the class: averages, quality, success, attendance; per
    student: the subject averages and period marks, attendance and (if the school ranks
    students) the place."""
    school = school_class.school
    rule = rule_of(current_policy(school.id))
    span = span_for(today, SchoolClass.id == school_class.id, Period.id == period.id)
    roster = roster_of(span)
    pairs = pairs_of(roster, {school.id: rule}, (period.starts_on, period.ends_on))
    students = list(
        db.session.execute(
            sa.select(Student)
            .where(Student.id.in_(sa.select(roster.c.student_id)))
            .order_by(Student.family_name, Student.given_name, Student.middle_name, Student.id)
        ).scalars()
    )
    rows = {student.id: StudentRow(student=student) for student in students}
    for pair in db.session.execute(sa.select(pairs)).mappings():
        row = rows.get(pair["student_id"])
        if row is None:
            continue
        cents = pair["cents"]
        row.cells[pair["subject_id"]] = Cell(
            average=None if cents is None else (Decimal(int(cents)) / 100).quantize(HUNDREDTH),
            suggested=pair["suggested"],
            final=pair["final"],
        )
    for row in rows.values():
        averages = [
            int(cell.average * 100) for cell in row.cells.values() if cell.average is not None
        ]
        row.average = mean_of_cents(sum(averages), len(averages))
    if school.rating_enabled:
        _rank(rows.values())
    total = student_figures(pairs, "class_id").get(school_class.id, Figures())
    total.students = len(students)
    # Students who left before the roll's day still count in the lessons they were in.
    for (student_id,), figures in attendance_counts(span, ("student_id",)).items():
        total.add(figures)
        if student_id in rows:
            rows[student_id].attendance = figures
    by_subject = subject_figures(pairs)
    return ClassReport(
        school_class=school_class,
        period=period,
        subjects=_subjects_of(school_class.id, by_subject),
        by_subject=by_subject,
        total=total,
        students=list(rows.values()),
        rating_enabled=school.rating_enabled,
    )


def _subjects_of(class_id: int, with_marks: Iterable[int]) -> list[Subject]:
    """The class's subjects: those taught to it and those it has marks in."""
    taught = sa.select(TeachingAssignment.subject_id).where(TeachingAssignment.class_id == class_id)
    return list(
        db.session.execute(
            sa.select(Subject)
            .where(sa.or_(Subject.id.in_(taught), Subject.id.in_(list(with_marks))))
            .order_by(Subject.name)
        ).scalars()
    )


@dataclass(frozen=True)
class Place:
    place: int | None  # None: no average yet, not ranked
    of: int


def student_place(student: Student, period_id: int | None, today: date, reach: Reach) -> Place:
    """The student's place in their class's rating — only the place and the number of
    ranked classmates, nothing about anyone else. 404 when the school does not rank.
    The class is the one the student is in (or was last in); for staff, the latest
    class of theirs the student was in (the old school ranks in its own class)."""
    school_class = _class_on(student, today)
    if "marks" not in reach.whole:
        latest = reach.latest("marks")
        school_class = db.session.get(SchoolClass, latest.class_id) if latest else None
    if school_class is None or not school_class.school.rating_enabled:
        raise NotFound()
    period = class_period(school_class, period_id, today)
    report = class_report(school_class, period, today)
    ranked = [row for row in report.students if row.place is not None]
    own = next((row for row in report.students if row.student.id == student.id), None)
    return Place(place=own.place if own else None, of=len(ranked))


def _class_on(student: Student, today: date) -> SchoolClass | None:
    """The class the student is in today, or their latest class (summer)."""
    return db.session.execute(
        sa.select(SchoolClass)
        .join(Enrolment, Enrolment.class_id == SchoolClass.id)
        .where(Enrolment.student_id == student.id, Enrolment.starts_on <= today)
        .order_by(
            sa.case((Enrolment.ends_on.is_(None), 0), else_=1),
            Enrolment.starts_on.desc(),
        )
        .limit(1)
    ).scalar_one_or_none()


def rating_enabled_for(student: Student) -> bool:
    return student.school is not None and student.school.rating_enabled
