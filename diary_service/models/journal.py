"""Tables of the class journal.

Marks, attendance and final marks are append-only in effect: a correction or deletion
adds a row that names the row it replaces (``previous_id``) and clears ``is_current``
on the replaced one; nothing else of an old row ever changes. The history of a mark is
the chain of its rows, with author, time and reason on each.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from diary_service.extensions import db
from diary_service.models.partitions import school_year_of
from diary_service.models.school import (
    AcademicYear,
    Period,
    SchoolClass,
    StaffMember,
    Student,
    Subject,
)
from shared.sessions import utcnow

# Kinds of work a mark is given for; the school's policy weighs each.
MARK_KINDS = (
    "control",  # контрольная работа
    "test",  # проверочная / тест
    "independent",  # самостоятельная работа
    "dictation",  # диктант
    "lab",  # лабораторная / практическая
    "project",  # проект
    "oral",  # устный ответ
    "classwork",  # работа на уроке
    "homework",  # домашняя работа
)
# Values a current mark may take: the five-point scale and pass/fail (зачёт/незачёт).
MARK_VALUES = ("1", "2", "3", "4", "5", "pass", "fail")
# Attendance codes: н absent, б ill, у excused, оп late.
ATTENDANCE_CODES = ("н", "б", "у", "оп")
FINAL_KINDS = ("period", "year")
REMARK_KINDS = ("behaviour", "preparation", "praise")


class MarkPolicy(db.Model):
    """A version of a school's rule for period marks: weight per mark kind, how the
    average is taken and the thresholds from which it becomes a 5, 4 or 3. A change is
    a new version; every final mark records the version it was suggested under."""

    __tablename__ = "mark_policy"
    __table_args__ = (sa.UniqueConstraint("school_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("school.id"))
    version: Mapped[int]
    # {"control": 5, "test": 3, ..., "homework": 1}
    weights: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    # "weighted" (Σ mark×weight / Σ weight) or "arithmetic" (every mark weighs 1)
    average: Mapped[str] = mapped_column(sa.String(20), default="weighted")
    # Lowest averages that give a 5, 4 and 3: {"5": "4.60", "4": "3.60", "3": "2.60"}
    thresholds: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_member.id"))

    def __repr__(self) -> str:
        return f"<MarkPolicy {self.id}>"


class Lesson(db.Model):
    """A dated lesson of a class and subject (from the timetable, or added by the
    teacher), with its topic. ``teacher_id`` is who gives it: the timetable's teacher or
    the substitute for that day."""

    __tablename__ = "lesson"
    __table_args__ = (
        sa.UniqueConstraint("class_id", "on_date", "lesson_number"),
        sa.Index("ix_lesson_class_subject_date", "class_id", "subject_id", "on_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(sa.ForeignKey("school_class.id", ondelete="CASCADE"))
    subject_id: Mapped[int] = mapped_column(sa.ForeignKey("subject.id"))
    teacher_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_member.id"), index=True)
    on_date: Mapped[date]
    lesson_number: Mapped[int]
    topic: Mapped[str] = mapped_column(sa.String(500), default="")
    topic_updated_at: Mapped[datetime | None]
    cancelled: Mapped[bool] = mapped_column(default=False)

    school_class: Mapped[SchoolClass] = relationship()
    subject: Mapped[Subject] = relationship()
    teacher: Mapped[StaffMember] = relationship()
    homework: Mapped[Homework | None] = relationship(
        back_populates="lesson", cascade="all, delete-orphan", uselist=False
    )

    def __repr__(self) -> str:
        return f"<Lesson {self.id}>"


class Homework(db.Model):
    """What is set at a lesson, due on ``due_on`` (usually the next lesson)."""

    __tablename__ = "homework"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(
        sa.ForeignKey("lesson.id", ondelete="CASCADE"), unique=True
    )
    text: Mapped[str] = mapped_column(sa.Text, default="")
    due_on: Mapped[date | None] = mapped_column(index=True)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_member.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    lesson: Mapped[Lesson] = relationship(back_populates="homework")
    attachments: Mapped[list[HomeworkAttachment]] = relationship(
        back_populates="homework", cascade="all, delete-orphan", order_by="HomeworkAttachment.id"
    )


class HomeworkAttachment(db.Model):
    """A file attached to homework, kept in the database (small: the app's upload limit)."""

    __tablename__ = "homework_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    homework_id: Mapped[int] = mapped_column(
        sa.ForeignKey("homework.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    homework: Mapped[Homework] = relationship(back_populates="attachments")


class Mark(db.Model):
    """One version of a mark. The current version of each mark has ``is_current``; a
    deletion is a current version with ``deleted`` (kept so the history shows it)."""

    __tablename__ = "mark"
    __table_args__ = (
        sa.Index("ix_mark_student_current", "student_id", "is_current"),
        sa.Index("ix_mark_lesson_current", "lesson_id", "is_current"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(sa.ForeignKey("lesson.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("student.id", ondelete="CASCADE"))
    value: Mapped[str] = mapped_column(sa.String(5))
    kind: Mapped[str] = mapped_column(sa.String(20))
    weight: Mapped[int]  # from the school's policy when the mark was given
    comment: Mapped[str] = mapped_column(sa.String(500), default="")
    deleted: Mapped[bool] = mapped_column(default=False)
    is_current: Mapped[bool] = mapped_column(default=True)
    previous_id: Mapped[int | None] = mapped_column(sa.ForeignKey("mark.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(300), default="")  # of a correction
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_member.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The partition key on PostgreSQL (models/partitions.py): the school year of the
    # lesson's date. Every write sets it; ``_set_school_year`` fills it when one forgot.
    school_year: Mapped[int] = mapped_column(sa.SmallInteger)

    lesson: Mapped[Lesson] = relationship()
    student: Mapped[Student] = relationship()
    author: Mapped[StaffMember] = relationship()

    def __repr__(self) -> str:
        return f"<Mark {self.id}>"

    @property
    def numeric(self) -> int | None:
        """The value on the five-point scale; None for pass/fail (not averaged)."""
        return int(self.value) if self.value.isdigit() else None


class Attendance(db.Model):
    """One version of a student's attendance at a lesson (only departures from
    "present" are recorded); versioned like marks."""

    __tablename__ = "attendance"
    __table_args__ = (
        sa.Index("ix_attendance_student_current", "student_id", "is_current"),
        sa.Index("ix_attendance_lesson_current", "lesson_id", "is_current"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(sa.ForeignKey("lesson.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("student.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(sa.String(3))
    deleted: Mapped[bool] = mapped_column(default=False)
    is_current: Mapped[bool] = mapped_column(default=True)
    previous_id: Mapped[int | None] = mapped_column(sa.ForeignKey("attendance.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(300), default="")
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_member.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The partition key on PostgreSQL (models/partitions.py): the school year of the
    # lesson's date. Every write sets it; ``_set_school_year`` fills it when one forgot.
    school_year: Mapped[int] = mapped_column(sa.SmallInteger)

    lesson: Mapped[Lesson] = relationship()
    student: Mapped[Student] = relationship()
    author: Mapped[StaffMember] = relationship()

    def __repr__(self) -> str:
        return f"<Attendance {self.id}>"


@sa.event.listens_for(Mark, "before_insert")
@sa.event.listens_for(Attendance, "before_insert")
def _set_school_year(_mapper: Any, connection: sa.Connection, target: Mark | Attendance) -> None:
    """A version written without its school year gets the year of its lesson's date (one
    query; the journal's saves set it from the lesson they hold and need none)."""
    if target.school_year is None:
        lesson = target.__dict__.get("lesson")
        on_date = (
            lesson.on_date
            if lesson is not None
            else connection.execute(
                sa.select(Lesson.on_date).where(Lesson.id == target.lesson_id)
            ).scalar_one()
        )
        target.school_year = school_year_of(on_date)


class FinalMark(db.Model):
    """A period (quarter, trimester, semester) or year mark the teacher set, with the
    average and suggestion it was set against and the policy version that made them.
    Versioned like marks."""

    __tablename__ = "final_mark"
    __table_args__ = (sa.Index("ix_final_mark_student_current", "student_id", "is_current"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("student.id", ondelete="CASCADE"))
    subject_id: Mapped[int] = mapped_column(sa.ForeignKey("subject.id"))
    year_id: Mapped[int] = mapped_column(sa.ForeignKey("academic_year.id"))
    period_id: Mapped[int | None] = mapped_column(sa.ForeignKey("period.id"))  # None: year
    kind: Mapped[str] = mapped_column(sa.String(10))  # period / year
    value: Mapped[str] = mapped_column(sa.String(5))
    average: Mapped[Decimal | None] = mapped_column(sa.Numeric(4, 2))
    suggested: Mapped[str | None] = mapped_column(sa.String(5))
    policy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("mark_policy.id"))
    deleted: Mapped[bool] = mapped_column(default=False)
    is_current: Mapped[bool] = mapped_column(default=True)
    previous_id: Mapped[int | None] = mapped_column(sa.ForeignKey("final_mark.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(300), default="")
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_member.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    student: Mapped[Student] = relationship()
    subject: Mapped[Subject] = relationship()
    year: Mapped[AcademicYear] = relationship()
    period: Mapped[Period | None] = relationship()
    policy: Mapped[MarkPolicy | None] = relationship()
    author: Mapped[StaffMember] = relationship()

    def __repr__(self) -> str:
        return f"<FinalMark {self.id}>"


class Remark(db.Model):
    """A teacher's remark to a student's parents (behaviour, preparation, praise)."""

    __tablename__ = "remark"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(
        sa.ForeignKey("student.id", ondelete="CASCADE"), index=True
    )
    lesson_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lesson.id", ondelete="SET NULL"))
    subject_id: Mapped[int | None] = mapped_column(sa.ForeignKey("subject.id"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    text: Mapped[str] = mapped_column(sa.String(1000))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_member.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    student: Mapped[Student] = relationship()
    subject: Mapped[Subject | None] = relationship()
    author: Mapped[StaffMember] = relationship()
