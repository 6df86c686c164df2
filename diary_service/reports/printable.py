"""The printable class journal: a subject's lessons, marks and attendance over a period,
as the paper journal lays them out."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from diary_service.extensions import db
from diary_service.journal.queries import (
    current_final_marks,
    current_policy,
    rule_of,
    summarize,
)
from diary_service.models.journal import (
    Attendance,
    Lesson,
    Mark,
)
from diary_service.models.school import (
    Enrolment,
    Period,
    SchoolClass,
    StaffMember,
    Student,
    Subject,
    TeachingAssignment,
)


@dataclass
class SheetRow:
    student: Student
    marks: dict[int, list[str]]  # lesson id → values
    absences: dict[int, str]  # lesson id → code
    average: Decimal | None
    suggested: str | None
    final: str | None


@dataclass
class JournalSheet:
    school_class: SchoolClass
    subject: Subject
    period: Period
    teachers: list[StaffMember]
    lessons: list[Lesson]
    rows: list[SheetRow]

    @property
    def months(self) -> list[list[Lesson]]:
        """The lessons month by month, as the paper journal's spreads are."""
        months: dict[tuple[int, int], list[Lesson]] = {}
        for lesson in self.lessons:
            months.setdefault((lesson.on_date.year, lesson.on_date.month), []).append(lesson)
        return list(months.values())


def journal_sheet(school_class: SchoolClass, subject: Subject, period: Period) -> JournalSheet:
    """The class journal of one subject for a period, laid out as on paper: every
    student enrolled during the period × the lessons given, with marks and absences, and
    the lessons' topics and homework."""
    lessons = list(
        db.session.execute(
            sa.select(Lesson)
            .options(selectinload(Lesson.homework))
            .where(
                Lesson.class_id == school_class.id,
                Lesson.subject_id == subject.id,
                Lesson.cancelled.is_(False),
                Lesson.on_date >= period.starts_on,
                Lesson.on_date <= period.ends_on,
            )
            .order_by(Lesson.on_date, Lesson.lesson_number)
        ).scalars()
    )
    students = list(
        db.session.execute(
            sa.select(Student)
            .where(
                Student.id.in_(
                    sa.select(Enrolment.student_id).where(
                        Enrolment.class_id == school_class.id,
                        Enrolment.starts_on <= period.ends_on,
                        sa.or_(Enrolment.ends_on.is_(None), Enrolment.ends_on > period.starts_on),
                    )
                )
            )
            .order_by(Student.family_name, Student.given_name, Student.middle_name, Student.id)
        ).scalars()
    )
    lesson_ids = [lesson.id for lesson in lessons]
    marks: dict[int, list[Mark]] = defaultdict(list)
    for mark in db.session.execute(
        sa.select(Mark)
        .join(Lesson, Lesson.id == Mark.lesson_id)
        .where(
            Mark.lesson_id.in_(lesson_ids),
            Mark.is_current.is_(True),
            Mark.deleted.is_(False),
        )
        .order_by(Lesson.on_date, Lesson.lesson_number, Mark.id)
    ).scalars():
        marks[mark.student_id].append(mark)
    absences: dict[int, dict[int, str]] = defaultdict(dict)
    for attendance in db.session.execute(
        sa.select(Attendance).where(
            Attendance.lesson_id.in_(lesson_ids),
            Attendance.is_current.is_(True),
            Attendance.deleted.is_(False),
        )
    ).scalars():
        absences[attendance.student_id][attendance.lesson_id] = attendance.code
    finals = {
        final.student_id: final.value
        for final in current_final_marks(
            [student.id for student in students], period.year_id, subject.id
        )
        if final.period_id == period.id
    }
    rule = rule_of(current_policy(school_class.school_id))
    rows = []
    for student in students:
        summary = summarize(subject, marks.get(student.id, []), rule)
        by_lesson: dict[int, list[str]] = defaultdict(list)
        for mark in summary.marks:
            by_lesson[mark.lesson_id].append(mark.value)
        rows.append(
            SheetRow(
                student=student,
                marks=dict(by_lesson),
                absences=absences.get(student.id, {}),
                average=summary.average,
                suggested=summary.suggested,
                final=finals.get(student.id),
            )
        )
    teachers = list(
        db.session.execute(
            sa.select(StaffMember)
            .join(TeachingAssignment, TeachingAssignment.teacher_id == StaffMember.id)
            .where(
                TeachingAssignment.class_id == school_class.id,
                TeachingAssignment.subject_id == subject.id,
            )
            .order_by(StaffMember.family_name)
        ).scalars()
    )
    return JournalSheet(
        school_class=school_class,
        subject=subject,
        period=period,
        teachers=teachers,
        lessons=lessons,
        rows=rows,
    )
