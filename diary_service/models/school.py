"""Tables of the school structure.

One deployment serves one region: municipalities → schools → academic years (with
periods and holidays) → classes. Students and staff belong to a school; a student's
class is the enrolment open on a given day, so transfers and leaving keep their history.
Nobody holds a SNILS here: people are matched by its keyed hash (``snils_index``, the
same blind index ``diary_service.auth`` computes at sign-in).
"""

from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from diary_service.extensions import db
from diary_service.models.auth import full_name
from shared.sessions import utcnow

# Kinds of academic periods a school divides its year into.
PERIOD_KINDS = ("quarter", "trimester", "semester")
# Staff roles inside a school; ``department`` is the region's education department.
STAFF_ROLES = ("teacher", "class_teacher", "school_admin", "health_worker", "department")
# Why an enrolment started or ended.
ENROLMENT_REASONS = ("admission", "transfer", "leaving")
TIMETABLE_CHANGE_KINDS = ("substitution", "cancellation", "room_change")
NOTICE_KINDS = ("news", "event", "quarantine")
WEEKDAYS = (1, 2, 3, 4, 5, 6)  # Monday … Saturday (ISO weekday numbers)


class Municipality(db.Model):
    __tablename__ = "municipality"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)

    schools: Mapped[list[School]] = relationship(
        back_populates="municipality", order_by="School.name"
    )

    def __repr__(self) -> str:
        return f"<Municipality {self.id}>"


class School(db.Model):
    __tablename__ = "school"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(sa.ForeignKey("municipality.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    short_name: Mapped[str] = mapped_column(sa.String(100))
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    # The school's local act decides whether students are ranked (staff see the rating;
    # a student sees only their own place).
    rating_enabled: Mapped[bool] = mapped_column(default=False)

    municipality: Mapped[Municipality] = relationship(back_populates="schools")
    bells: Mapped[list[Bell]] = relationship(
        back_populates="school", order_by="Bell.number", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<School {self.id}>"


class Bell(db.Model):
    """One lesson slot of the school's bell schedule: lesson 1 is 08:30–09:15."""

    __tablename__ = "bell"
    __table_args__ = (sa.UniqueConstraint("school_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("school.id", ondelete="CASCADE"))
    number: Mapped[int]
    starts_at: Mapped[time]
    ends_at: Mapped[time]

    school: Mapped[School] = relationship(back_populates="bells")


class AcademicYear(db.Model):
    """A school's academic year: 1 September to the end of May, divided into periods."""

    __tablename__ = "academic_year"
    __table_args__ = (sa.UniqueConstraint("school_id", "starts_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("school.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(20))  # "2026/2027"
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    period_kind: Mapped[str] = mapped_column(sa.String(20), default="quarter")

    school: Mapped[School] = relationship()
    periods: Mapped[list[Period]] = relationship(
        back_populates="year", order_by="Period.number", cascade="all, delete-orphan"
    )
    holidays: Mapped[list[Holiday]] = relationship(
        back_populates="year", order_by="Holiday.starts_on", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<AcademicYear {self.id}>"


class Period(db.Model):
    """A quarter, trimester or semester: the span a period mark is set for."""

    __tablename__ = "period"
    __table_args__ = (sa.UniqueConstraint("year_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year_id: Mapped[int] = mapped_column(sa.ForeignKey("academic_year.id", ondelete="CASCADE"))
    number: Mapped[int]
    starts_on: Mapped[date]
    ends_on: Mapped[date]

    year: Mapped[AcademicYear] = relationship(back_populates="periods")

    def __repr__(self) -> str:
        return f"<Period {self.id}>"


class Holiday(db.Model):
    __tablename__ = "holiday"

    id: Mapped[int] = mapped_column(primary_key=True)
    year_id: Mapped[int] = mapped_column(
        sa.ForeignKey("academic_year.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(100))
    starts_on: Mapped[date]
    ends_on: Mapped[date]

    year: Mapped[AcademicYear] = relationship(back_populates="holidays")


class Subject(db.Model):
    """A subject of the region's curriculum (``Алгебра``)."""

    __tablename__ = "subject"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    short_name: Mapped[str] = mapped_column(sa.String(30), default="")

    def __repr__(self) -> str:
        return f"<Subject {self.id}>"


class StaffMember(db.Model):
    """Someone who works at a school (or, with no school, at the region's education
    department). ``person_id`` is set once they sign in and their SNILS matches."""

    __tablename__ = "staff_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int | None] = mapped_column(sa.ForeignKey("school.id"), index=True)
    family_name: Mapped[str] = mapped_column(sa.String(100))
    given_name: Mapped[str] = mapped_column(sa.String(100))
    middle_name: Mapped[str | None] = mapped_column(sa.String(100))
    snils_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("diary_person.id", ondelete="SET NULL"), index=True
    )
    position: Mapped[str] = mapped_column(sa.String(100), default="")  # "учитель математики"
    active: Mapped[bool] = mapped_column(default=True)

    school: Mapped[School | None] = relationship()
    roles: Mapped[list[StaffRole]] = relationship(
        back_populates="staff", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<StaffMember {self.id}>"

    @property
    def full_name(self) -> str:
        return full_name(self.family_name, self.given_name, self.middle_name)

    @property
    def short_name(self) -> str:
        """«Смирнова О. П.»"""
        initials = "".join(f"{part[0]}. " for part in (self.given_name, self.middle_name) if part)
        return f"{self.family_name} {initials}".strip()

    @property
    def role_names(self) -> set[str]:
        return {role.role for role in self.roles}


class StaffRole(db.Model):
    __tablename__ = "staff_role"
    __table_args__ = (sa.UniqueConstraint("staff_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_member.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(sa.String(30))

    staff: Mapped[StaffMember] = relationship(back_populates="roles")


class SchoolClass(db.Model):
    """A class of one academic year: grade and letter, «7Б»."""

    __tablename__ = "school_class"
    __table_args__ = (sa.UniqueConstraint("year_id", "grade", "letter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("school.id"), index=True)
    year_id: Mapped[int] = mapped_column(sa.ForeignKey("academic_year.id"))
    grade: Mapped[int]
    letter: Mapped[str] = mapped_column(sa.String(3))
    class_teacher_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff_member.id", ondelete="SET NULL"), index=True
    )

    school: Mapped[School] = relationship()
    year: Mapped[AcademicYear] = relationship()
    class_teacher: Mapped[StaffMember | None] = relationship()

    def __repr__(self) -> str:
        return f"<SchoolClass {self.id}>"

    @property
    def name(self) -> str:
        return f"{self.grade}{self.letter}"


class Student(db.Model):
    """A student of the region. ``school_id`` is the current school (the open
    enrolment's); ``person_id`` is their own portal account once they sign in (14+)."""

    __tablename__ = "student"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int | None] = mapped_column(sa.ForeignKey("school.id"), index=True)
    family_name: Mapped[str] = mapped_column(sa.String(100))
    given_name: Mapped[str] = mapped_column(sa.String(100))
    middle_name: Mapped[str | None] = mapped_column(sa.String(100))
    birth_date: Mapped[date]
    snils_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("diary_person.id", ondelete="SET NULL"), index=True
    )

    school: Mapped[School | None] = relationship()
    enrolments: Mapped[list[Enrolment]] = relationship(
        back_populates="student", order_by="Enrolment.starts_on", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Student {self.id}>"

    @property
    def full_name(self) -> str:
        return full_name(self.family_name, self.given_name, self.middle_name)


class Enrolment(db.Model):
    """A student in a class from ``starts_on`` until ``ends_on`` (exclusive; open while
    None). A transfer ends one enrolment and starts another; leaving ends the last."""

    __tablename__ = "enrolment"
    __table_args__ = (sa.Index("ix_enrolment_class_dates", "class_id", "starts_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(
        sa.ForeignKey("student.id", ondelete="CASCADE"), index=True
    )
    class_id: Mapped[int] = mapped_column(sa.ForeignKey("school_class.id"))
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    reason: Mapped[str] = mapped_column(sa.String(20), default="admission")
    end_reason: Mapped[str | None] = mapped_column(sa.String(20))  # transfer / leaving
    note: Mapped[str] = mapped_column(sa.String(300), default="")

    student: Mapped[Student] = relationship(back_populates="enrolments")
    school_class: Mapped[SchoolClass] = relationship()

    def __repr__(self) -> str:
        return f"<Enrolment {self.id}>"


class TeachingAssignment(db.Model):
    """Who teaches which subject to which class."""

    __tablename__ = "teaching_assignment"
    __table_args__ = (sa.UniqueConstraint("class_id", "subject_id", "teacher_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(sa.ForeignKey("school_class.id", ondelete="CASCADE"))
    subject_id: Mapped[int] = mapped_column(sa.ForeignKey("subject.id"))
    teacher_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_member.id"), index=True)

    school_class: Mapped[SchoolClass] = relationship()
    subject: Mapped[Subject] = relationship()
    teacher: Mapped[StaffMember] = relationship()


class TimetableEntry(db.Model):
    """One slot of a class's weekly timetable: on ``weekday`` at bell ``lesson_number``."""

    __tablename__ = "timetable_entry"
    __table_args__ = (sa.UniqueConstraint("class_id", "weekday", "lesson_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(sa.ForeignKey("school_class.id", ondelete="CASCADE"))
    weekday: Mapped[int]  # ISO: 1 = Monday
    lesson_number: Mapped[int]
    subject_id: Mapped[int] = mapped_column(sa.ForeignKey("subject.id"))
    teacher_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_member.id"), index=True)
    room: Mapped[str] = mapped_column(sa.String(30), default="")

    school_class: Mapped[SchoolClass] = relationship()
    subject: Mapped[Subject] = relationship()
    teacher: Mapped[StaffMember] = relationship()


class TimetableChange(db.Model):
    """A change to one dated slot: a substitute teacher, a cancelled lesson or another
    room. Families see it in the week view."""

    __tablename__ = "timetable_change"
    __table_args__ = (sa.UniqueConstraint("class_id", "on_date", "lesson_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(sa.ForeignKey("school_class.id", ondelete="CASCADE"))
    on_date: Mapped[date]
    lesson_number: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(20))
    substitute_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_member.id"))
    room: Mapped[str] = mapped_column(sa.String(30), default="")
    note: Mapped[str] = mapped_column(sa.String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_member.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    school_class: Mapped[SchoolClass] = relationship()
    substitute: Mapped[StaffMember | None] = relationship(foreign_keys=[substitute_id])


class Notice(db.Model):
    """News, an event or a quarantine for the whole school or one class, shown to
    families from ``starts_on`` until ``ends_on``."""

    __tablename__ = "notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("school.id"), index=True)
    class_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("school_class.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(20), default="news")
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_member.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    school_class: Mapped[SchoolClass | None] = relationship()


class ParentMeeting(db.Model):
    """A parent meeting of a class: when, where and what about."""

    __tablename__ = "parent_meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(
        sa.ForeignKey("school_class.id", ondelete="CASCADE"), index=True
    )
    held_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(sa.String(200), default="")
    agenda: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_member.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    school_class: Mapped[SchoolClass] = relationship()
