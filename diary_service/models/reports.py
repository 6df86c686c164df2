"""Figures the reports keep up to date instead of recomputing them from every mark.

Three tables, all derived (``reports/aggregates.py`` writes them in the transaction that
changes what they count; ``flask --app diary_service reports check`` recomputes them from
scratch and reports any drift):

- ``report_class_subject``: per class, subject and period, the current marks (count,
  five-point count, Σ weight, Σ value×weight), the absences by code, and how the class's
  students stand in the subject (assessed, successful, quality, Σ and count of averages);
- ``report_class``: per class and period, the students on the roll and how they stand
  across all their subjects (a student fails or keeps "quality" over every subject, so
  this is not the sum of the subject rows);
- ``report_school_day``: per school and day, the lessons held (not cancelled), with a
  topic, with homework, without marks, the student-lessons (lessons × students enrolled
  that day) and the absences by code. A report sums the days of its period up to today,
  so "up to today" needs no nightly work.

No foreign keys to the counted rows: these are caches, deleted with their class or
school, and rewritten wholesale by a refresh.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from diary_service.extensions import db
from shared.sessions import utcnow


class _Judged:
    """How students stand: with a period mark (set or suggested), without «2», with
    only «4»/«5», and the Σ/count of their averages in hundredths."""

    assessed: Mapped[int] = mapped_column(default=0)
    successful: Mapped[int] = mapped_column(default=0)
    quality: Mapped[int] = mapped_column(default=0)
    cents_sum: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    cents_count: Mapped[int] = mapped_column(default=0)


class _Absences:
    """Current attendance rows by code: «н», «б», «у» (missed) and «оп» (late)."""

    absent_n: Mapped[int] = mapped_column(default=0)
    absent_b: Mapped[int] = mapped_column(default=0)
    absent_u: Mapped[int] = mapped_column(default=0)
    late: Mapped[int] = mapped_column(default=0)


class ClassSubjectTally(_Judged, _Absences, db.Model):
    __tablename__ = "report_class_subject"

    class_id: Mapped[int] = mapped_column(
        sa.ForeignKey("school_class.id", ondelete="CASCADE"), primary_key=True
    )
    period_id: Mapped[int] = mapped_column(
        sa.ForeignKey("period.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    subject_id: Mapped[int] = mapped_column(sa.ForeignKey("subject.id"), primary_key=True)
    marks: Mapped[int] = mapped_column(default=0)  # current, not deleted, any value
    numeric_marks: Mapped[int] = mapped_column(default=0)  # «1»…«5»
    weight_sum: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    weighted_sum: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClassTally(_Judged, db.Model):
    __tablename__ = "report_class"

    class_id: Mapped[int] = mapped_column(
        sa.ForeignKey("school_class.id", ondelete="CASCADE"), primary_key=True
    )
    period_id: Mapped[int] = mapped_column(
        sa.ForeignKey("period.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("school.id", ondelete="CASCADE"))
    students: Mapped[int] = mapped_column(default=0)  # on the roll on the report's day
    as_of: Mapped[date]  # the roll's day when refreshed
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)


class SchoolDayTally(_Absences, db.Model):
    __tablename__ = "report_school_day"

    school_id: Mapped[int] = mapped_column(
        sa.ForeignKey("school.id", ondelete="CASCADE"), primary_key=True
    )
    on_date: Mapped[date] = mapped_column(primary_key=True)
    lessons: Mapped[int] = mapped_column(default=0)
    with_topic: Mapped[int] = mapped_column(default=0)
    with_homework: Mapped[int] = mapped_column(default=0)
    without_marks: Mapped[int] = mapped_column(default=0)
    student_lessons: Mapped[int] = mapped_column(default=0)
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)
