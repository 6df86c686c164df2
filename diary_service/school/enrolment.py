"""Students and their enrolments: admitting a student to a class, transferring them to
another class or school, and their leaving."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

import diary_service.clock as clock
from diary_service.access import enrolment_open_on
from diary_service.extensions import db
from diary_service.models.school import (
    Enrolment,
    School,
    SchoolClass,
    Student,
)
from diary_service.school.base import (
    clean_text,
    commit,
    get,
    index_of_snils,
    invalid,
    person_with_snils,
)
from diary_service.school.calendar import current_year
from diary_service.school.classes import class_by_name
from diary_service.school.notices import class_of_school


def students_of(school_id: int, on: date | None = None) -> list[tuple[Student, SchoolClass]]:
    """The students enrolled in the school on a day (today), by class and name."""
    on = on or clock.today()
    return [
        (row.Student, row.SchoolClass)
        for row in db.session.execute(
            sa.select(Student, SchoolClass)
            .join(Enrolment, Enrolment.student_id == Student.id)
            .join(SchoolClass, SchoolClass.id == Enrolment.class_id)
            .where(
                SchoolClass.school_id == school_id,
                enrolment_open_on(on),
            )
            .order_by(
                SchoolClass.grade, SchoolClass.letter, Student.family_name, Student.given_name
            )
        )
    ]


def open_enrolment(student: Student) -> Enrolment | None:
    for enrolment in student.enrolments:
        if enrolment.ends_on is None:
            return enrolment
    return None


def _in_year(school_class: SchoolClass, on: date, field: str) -> None:
    year = school_class.year
    if not year.starts_on <= on <= year.ends_on:
        raise invalid(
            field,
            _l(
                "The date must lie within the class's academic year (%(start)s – %(end)s).",
                start=year.starts_on.strftime("%d.%m.%Y"),
                end=year.ends_on.strftime("%d.%m.%Y"),
            ),
        )


def student_with_snils(index: str) -> Student | None:
    return db.session.execute(
        sa.select(Student).where(Student.snils_index == index).limit(1)
    ).scalar_one_or_none()


def admission_problem(student: Student | None, school_id: int) -> Any:
    """Why a student with this SNILS cannot be admitted, or None (a new student, or one
    who left school and comes back)."""
    if student is None or student.school_id is None:
        return None
    if student.school_id == school_id:
        return _l("A student with this SNILS already studies at this school.")
    return _l(
        "A student with this SNILS studies at another school; that school transfers them here."
    )


def admit_student(
    school_id: int,
    family_name: str,
    given_name: str,
    middle_name: str | None,
    birth_date: date,
    snils: str,
    class_id: int,
    on: date,
    note: str = "",
) -> Student:
    """Enrol a student in a class from ``on``. A student who had left school before
    (same SNILS) comes back with their record and history; one still enrolled
    elsewhere is transferred by their school instead."""
    school_class = class_of_school(school_id, class_id)
    _in_year(school_class, on, "starts_on")
    if not clock.today() - timedelta(days=25 * 366) < birth_date < clock.today():
        raise invalid("birth_date", _l("Check the birth date."))
    index = index_of_snils(snils)
    student = student_with_snils(index)
    problem = admission_problem(student, school_id)
    if problem is not None:
        raise invalid("snils", problem)
    if student is not None and any(
        enrolment.ends_on is not None and enrolment.ends_on > on for enrolment in student.enrolments
    ):
        raise invalid("starts_on", _l("The student's previous enrolment ended after this date."))
    if student is None:
        person = person_with_snils(index)
        student = Student(
            family_name=clean_text(family_name),
            given_name=clean_text(given_name),
            middle_name=clean_text(middle_name) or None,
            birth_date=birth_date,
            snils_index=index,
            person_id=person.id if person else None,
        )
        db.session.add(student)
    student.school_id = school_id
    student.enrolments.append(
        Enrolment(
            school_class=school_class, starts_on=on, reason="admission", note=clean_text(note)
        )
    )
    commit()
    return student


def transfer_student(
    student_id: int, school_id: int, class_name: str, on: date, note: str = ""
) -> Enrolment:
    """Move a student from ``on`` to class ``class_name`` («7Б») of a school of the region
    (their own or another), in that school's academic year of that date: the open
    enrolment ends (``transfer``) and a new one begins."""
    student = get(Student, student_id)
    current = open_enrolment(student)
    if current is None:
        raise invalid("", _l("The student is not enrolled anywhere now; admit them instead."))
    if db.session.get(School, school_id) is None:
        raise invalid("school_id", _l("Choose a school from the list."))
    year = current_year(school_id, on)
    target = class_by_name(school_id, year.id, class_name) if year is not None else None
    if target is None:
        raise invalid(
            "class_name",
            _l(
                "The school has no class «%(name)s» in the academic year of that date.",
                name=clean_text(class_name),
            ),
        )
    if target.id == current.class_id:
        raise invalid("class_name", _l("The student is already in this class."))
    _after_start(current, on)
    _in_year(target, on, "on")
    current.ends_on = on
    current.end_reason = "transfer"
    enrolment = Enrolment(
        school_class=target, starts_on=on, reason="transfer", note=clean_text(note)
    )
    student.enrolments.append(enrolment)
    student.school_id = target.school_id
    commit()
    return enrolment


def _after_start(current: Enrolment, on: date) -> None:
    """A transfer or a leaving ends the current enrolment: only after it began."""
    if on <= current.starts_on:
        raise invalid(
            "on",
            _l(
                "The date must come after %(date)s, when the current enrolment began.",
                date=current.starts_on.strftime("%d.%m.%Y"),
            ),
        )


def leave_student(student_id: int, on: date, note: str = "") -> Enrolment:
    """The student leaves the school from ``on`` (their history stays)."""
    student = get(Student, student_id)
    current = open_enrolment(student)
    if current is None:
        raise invalid("", _l("The student is not enrolled anywhere now."))
    _after_start(current, on)
    current.ends_on = on
    current.end_reason = "leaving"
    if clean_text(note):
        current.note = clean_text(note)
    student.school_id = None
    commit()
    return current
