"""The weekly "I have read the diary" acknowledgement: a parent's, and the class
teacher's view of who has read the week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

import diary_service.clock as clock
from diary_service.diary.pages import WEEK_LENGTH, monday_of
from diary_service.extensions import db
from diary_service.models.family import Acknowledgement, Guardian
from diary_service.models.school import (
    Enrolment,
    SchoolClass,
    Student,
)
from shared.errors import ValidationError


def acknowledgements_of(student: Student, monday: date) -> list[Acknowledgement]:
    return list(
        db.session.execute(
            sa.select(Acknowledgement)
            .where(Acknowledgement.student_id == student.id, Acknowledgement.week_start == monday)
            .order_by(Acknowledgement.acknowledged_at)
        ).scalars()
    )


def acknowledge(person_id: int, student: Student, day: date, today: date) -> Acknowledgement:
    """Record that the guardian has read the student's diary for the week containing
    ``day``. Acknowledging a week again returns the first acknowledgement unchanged."""
    monday = monday_of(day)
    if monday > monday_of(today):
        raise ValidationError(_l("A week can be acknowledged only once it has begun."))
    query = sa.select(Acknowledgement).where(
        Acknowledgement.student_id == student.id,
        Acknowledgement.person_id == person_id,
        Acknowledgement.week_start == monday,
    )
    existing = db.session.execute(query).scalar_one_or_none()
    if existing is not None:
        return existing
    acknowledgement = Acknowledgement(student_id=student.id, person_id=person_id, week_start=monday)
    db.session.add(acknowledgement)
    try:
        db.session.commit()
    except IntegrityError:
        # A double click raced us to the unique row: theirs is as good as ours.
        db.session.rollback()
        return db.session.execute(query).scalar_one()
    return acknowledgement


@dataclass
class GuardianRead:
    guardian: Guardian
    acknowledgement: Acknowledgement | None


@dataclass
class StudentReads:
    student: Student
    guardians: list[GuardianRead]
    # acknowledgements by people who are no longer (or never were) listed as guardians
    others: list[Acknowledgement]

    @property
    def acknowledged(self) -> bool:
        return any(g.acknowledgement for g in self.guardians) or bool(self.others)


def class_acknowledgements(school_class: SchoolClass, day: date) -> list[StudentReads]:
    """For the class teacher: each student enrolled in the class during the week of
    ``day``, each of their parents and whether (and when) they acknowledged it (trusted
    persons do not acknowledge, so are not listed)."""
    monday = monday_of(day)
    saturday = monday + timedelta(days=WEEK_LENGTH - 1)
    students = list(
        db.session.execute(
            sa.select(Student)
            .join(Enrolment, Enrolment.student_id == Student.id)
            .where(
                Enrolment.class_id == school_class.id,
                Enrolment.starts_on <= saturday,
                sa.or_(Enrolment.ends_on.is_(None), Enrolment.ends_on > monday),
            )
            .distinct()
            .order_by(Student.family_name, Student.given_name, Student.id)
        ).scalars()
    )
    ids = [s.id for s in students]
    guardians: dict[int, list[Guardian]] = {}
    for guardian in db.session.execute(
        sa.select(Guardian)
        .where(
            Guardian.student_id.in_(ids),
            Guardian.kind == "parent",
            Guardian.revoked_at.is_(None),
            # The parents of that week, not those a later school linked.
            Guardian.created_at < clock.start_of(saturday + timedelta(days=1)),
        )
        .order_by(Guardian.family_name, Guardian.id)
    ).scalars():
        guardians.setdefault(guardian.student_id, []).append(guardian)
    reads: dict[int, list[Acknowledgement]] = {}
    for ack in db.session.execute(
        sa.select(Acknowledgement).where(
            Acknowledgement.student_id.in_(ids), Acknowledgement.week_start == monday
        )
    ).scalars():
        reads.setdefault(ack.student_id, []).append(ack)
    result = []
    for student in students:
        acks = {a.person_id: a for a in reads.get(student.id, [])}
        rows = []
        for guardian in guardians.get(student.id, []):
            ack = acks.pop(guardian.person_id, None) if guardian.person_id else None
            rows.append(GuardianRead(guardian=guardian, acknowledgement=ack))
        result.append(StudentReads(student=student, guardians=rows, others=list(acks.values())))
    return result
