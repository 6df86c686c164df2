"""The school at a glance (its counts) and the health worker's list of absences."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from diary_service.extensions import db
from diary_service.models.journal import Attendance, Lesson, MarkPolicy
from diary_service.models.school import (
    AcademicYear,
    SchoolClass,
    Student,
)
from diary_service.school.calendar import current_year
from diary_service.school.classes import classes_of
from diary_service.school.enrolment import students_of
from diary_service.school.mark_policy import policies_of
from diary_service.school.staff import staff_of


@dataclass(frozen=True)
class Summary:
    year: AcademicYear | None
    classes: int
    students: int
    staff: int
    policy: MarkPolicy | None


def summary(school_id: int) -> Summary:
    policies = policies_of(school_id)
    return Summary(
        year=current_year(school_id),
        classes=len(classes_of(school_id)),
        students=len(students_of(school_id)),
        staff=sum(1 for member in staff_of(school_id) if member.active),
        policy=policies[0] if policies else None,
    )


@dataclass(frozen=True)
class Absence:
    on: date
    lesson_number: int
    student: Student
    school_class: SchoolClass
    code: str


def absences(school_id: int, start: date, end: date) -> list[Absence]:
    """Current, not deleted attendance records of the school's lessons from ``start`` to
    ``end``, newest day first."""
    rows = db.session.execute(
        sa.select(Attendance.code, Lesson.on_date, Lesson.lesson_number, Student, SchoolClass)
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .join(SchoolClass, SchoolClass.id == Lesson.class_id)
        .join(Student, Student.id == Attendance.student_id)
        .where(
            SchoolClass.school_id == school_id,
            Attendance.is_current.is_(True),
            Attendance.deleted.is_(False),
            Lesson.on_date >= start,
            Lesson.on_date <= end,
        )
        .order_by(
            Lesson.on_date.desc(),
            SchoolClass.grade,
            SchoolClass.letter,
            Student.family_name,
            Student.given_name,
            Lesson.lesson_number,
        )
    ).all()
    return [
        Absence(row.on_date, row.lesson_number, row.Student, row.SchoolClass, row.code)
        for row in rows
    ]
