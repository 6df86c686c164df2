"""A school's report: its classes' figures over a period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from diary_service.extensions import db
from diary_service.journal.queries import (
    current_policy,
    rule_of,
)
from diary_service.models.school import (
    Period,
    School,
    SchoolClass,
    StaffMember,
    Subject,
)
from diary_service.reports.base import Figures
from diary_service.reports.figures import (
    attendance_counts,
    completeness_of,
    pairs_of,
    roll_counts,
    roster_of,
    span_for,
    student_figures,
    subject_figures,
)


@dataclass
class SchoolReport:
    school: School
    period: Period
    classes: list[tuple[SchoolClass, Figures]]
    subjects: list[tuple[Subject, Figures]]
    teachers: list[tuple[StaffMember, Figures]]
    total: Figures


def school_report(school: School, period: Period, today: date) -> SchoolReport:
    """Per class and per subject: averages, quality, success, attendance; per teacher:
    how complete their journal is. Aggregates only: no student is named."""
    rule = rule_of(current_policy(school.id))
    span = span_for(
        today,
        SchoolClass.school_id == school.id,
        SchoolClass.year_id == period.year_id,
        Period.id == period.id,
    )
    roster = roster_of(span)
    pairs = pairs_of(roster, {school.id: rule}, (period.starts_on, period.ends_on))
    classes = list(
        db.session.execute(
            sa.select(SchoolClass)
            .where(SchoolClass.school_id == school.id, SchoolClass.year_id == period.year_id)
            .order_by(SchoolClass.grade, SchoolClass.letter)
        ).scalars()
    )
    by_class = student_figures(pairs, "class_id")
    rolls = roll_counts(roster, "class_id")
    by_subject = subject_figures(pairs)
    attendance = attendance_counts(span, ("class_id", "subject_id"))
    class_rows = []
    total = Figures()
    for school_class in classes:
        figures = by_class.get(school_class.id, Figures())
        figures.students = rolls.get(school_class.id, 0)
        for (class_id, _subject_id), counts in attendance.items():
            if class_id == school_class.id:
                figures.add(counts)
        class_rows.append((school_class, figures))
        total.add(figures)
    subject_ids = set(by_subject) | {subject_id for _class_id, subject_id in attendance}
    subjects = list(
        db.session.execute(
            sa.select(Subject).where(Subject.id.in_(subject_ids)).order_by(Subject.name)
        ).scalars()
    )
    subject_rows = []
    for subject in subjects:
        figures = by_subject.get(subject.id, Figures())
        for (_class_id, subject_id), counts in attendance.items():
            if subject_id == subject.id:
                figures.add(counts)
        subject_rows.append((subject, figures))
    by_teacher = completeness_of(span, "teacher_id")
    teachers = {
        member.id: member
        for member in db.session.execute(
            sa.select(StaffMember).where(StaffMember.id.in_(list(by_teacher)))
        ).scalars()
    }
    teacher_rows = sorted(
        ((teachers[tid], figures) for tid, figures in by_teacher.items()),
        key=lambda item: item[0].full_name,
    )
    for _member, figures in teacher_rows:
        total.add(figures)
    return SchoolReport(
        school=school,
        period=period,
        classes=class_rows,
        subjects=subject_rows,
        teachers=teacher_rows,
        total=total,
    )
