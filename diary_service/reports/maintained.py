"""The school report and the department's dashboard, read from the maintained figures
(``models/reports.py``) instead of the region's marks.

They answer exactly what ``school_report.school_report`` and ``region.region_report``
compute from the journal (those stay as the definition, and the tests hold the two
equal); the dashboard reads a few rows per class and per school-day, so it no longer
grows with the number of marks. The school report still counts attendance and the
teachers' journal completeness from one school's lessons of the period (a few thousand
rows, indexed by class and date).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from diary_service.extensions import db
from diary_service.models.reports import ClassSubjectTally, ClassTally, SchoolDayTally
from diary_service.models.school import (
    Period,
    School,
    SchoolClass,
    StaffMember,
    Subject,
)
from diary_service.reports import regionwide
from diary_service.reports.base import Figures, as_int
from diary_service.reports.figures import attendance_counts, completeness_of, span_for
from diary_service.reports.regionwide import RegionReport
from diary_service.reports.school_report import SchoolReport
from diary_service.reports.tallies import CODE_COLUMNS, JUDGED
from shared.errors import NotFound

_int = as_int
DAY_COLUMNS = (
    "lessons",
    "with_topic",
    "with_homework",
    "without_marks",
    "student_lessons",
    *CODE_COLUMNS.values(),
)


def _judged(row: Any) -> Figures:
    return Figures(**{name: _int(getattr(row, name)) for name in JUDGED})


def _days(row: Any) -> Figures:
    figures = Figures(
        lessons=_int(row.lessons),
        with_topic=_int(row.with_topic),
        with_homework=_int(row.with_homework),
        without_marks=_int(row.without_marks),
        student_lessons=_int(row.student_lessons),
    )
    for code, column in CODE_COLUMNS.items():
        if count := _int(getattr(row, column)):
            figures.missed[code] = count
    return figures


def _sums(model: Any, names: tuple[str, ...]) -> list[Any]:
    return [sa.func.sum(getattr(model, name)).label(name) for name in names]


def school_report(school: School, period: Period, today: date) -> SchoolReport:
    """``services.school_report`` with the students' standing (per class and per
    subject) and the roll read from ``report_class`` and ``report_class_subject``."""
    classes = list(
        db.session.execute(
            sa.select(SchoolClass)
            .where(SchoolClass.school_id == school.id, SchoolClass.year_id == period.year_id)
            .order_by(SchoolClass.grade, SchoolClass.letter)
        ).scalars()
    )
    class_ids = [school_class.id for school_class in classes]
    by_class = {
        row.class_id: (row.students, _judged(row))
        for row in db.session.execute(
            sa.select(ClassTally).where(
                ClassTally.period_id == period.id, ClassTally.class_id.in_(class_ids)
            )
        ).scalars()
    }
    by_subject = {
        row.subject_id: _judged(row)
        for row in db.session.execute(
            sa.select(ClassSubjectTally.subject_id, *_sums(ClassSubjectTally, JUDGED))
            .where(
                ClassSubjectTally.period_id == period.id,
                ClassSubjectTally.class_id.in_(class_ids),
                ClassSubjectTally.assessed + ClassSubjectTally.cents_count > 0,
            )
            .group_by(ClassSubjectTally.subject_id)
        ).all()
    }
    span = span_for(
        today,
        SchoolClass.school_id == school.id,
        SchoolClass.year_id == period.year_id,
        Period.id == period.id,
    )
    attendance = attendance_counts(span, ("class_id", "subject_id"))
    class_rows = []
    total = Figures()
    for school_class in classes:
        students, figures = by_class.get(school_class.id, (0, Figures()))
        figures.students = students
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


def region_report(period_number: int | None, today: date) -> RegionReport:
    """``services.region_report`` from the maintained figures: per school, the sum of its
    classes' rows for the period of that number in its current year, and of its days
    of that period up to today. Every read is a Core select into tuples (no ORM
    instance per school, year or period): five statements whatever the region's size."""
    years = regionwide.current_years(today)
    numbers = regionwide.period_numbers(years.values())
    if period_number is None:
        period_number = regionwide.default_period_number(years.values(), today)
    elif period_number not in numbers:
        raise NotFound(_("There is no such period."))
    periods = regionwide.periods_numbered(years, period_number)
    by_school: dict[int, Figures] = defaultdict(Figures)
    if periods:
        for row in db.session.execute(
            sa.select(
                ClassTally.school_id,
                *_sums(ClassTally, ("students", *JUDGED)),
            )
            .where(ClassTally.period_id.in_([period.id for period in periods.values()]))
            .group_by(ClassTally.school_id)
        ).all():
            figures = _judged(row)
            figures.students = _int(row.students)
            by_school[row.school_id].add(figures)
        # Schools share their periods' dates: one condition per distinct span.
        spans: dict[tuple[date, date], list[int]] = defaultdict(list)
        for school_id, period in periods.items():
            spans[(period.starts_on, min(period.ends_on, today))].append(school_id)
        within = sa.or_(
            *[
                sa.and_(
                    SchoolDayTally.school_id.in_(ids),
                    SchoolDayTally.on_date >= start,
                    SchoolDayTally.on_date <= until,
                )
                for (start, until), ids in spans.items()
            ]
        )
        for row in db.session.execute(
            sa.select(SchoolDayTally.school_id, *_sums(SchoolDayTally, DAY_COLUMNS))
            .where(within)
            .group_by(SchoolDayTally.school_id)
        ).all():
            by_school[row.school_id].add(_days(row))
    blocks, whole = regionwide.blocks_of(periods, lambda school_id: by_school[school_id])
    return RegionReport(
        period_number=period_number, numbers=numbers, municipalities=blocks, total=whole
    )
