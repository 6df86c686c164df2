"""A school's classes, their class teachers and students, and who teaches which subject
in each (teaching assignments)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

import diary_service.clock as clock
from diary_service.access import enrolment_open_on
from diary_service.extensions import db
from diary_service.models.school import (
    AcademicYear,
    Enrolment,
    School,
    SchoolClass,
    StaffMember,
    StaffRole,
    Student,
    Subject,
    TeachingAssignment,
    TimetableEntry,
)
from diary_service.school.base import LETTER_CHARS, MAX_GRADE, clean_text, commit, get, invalid
from diary_service.school.calendar import current_year
from diary_service.school.staff import teacher_of
from shared.validators import ascii_digits


def classes_of(school_id: int, year_id: int | None = None) -> list[SchoolClass]:
    """The school's classes of a year (the current one by default)."""
    if year_id is None:
        year = current_year(school_id)
        if year is None:
            return []
        year_id = year.id
    return list(
        db.session.execute(
            sa.select(SchoolClass)
            .where(SchoolClass.school_id == school_id, SchoolClass.year_id == year_id)
            .order_by(SchoolClass.grade, SchoolClass.letter)
        ).scalars()
    )


def schools() -> list[School]:
    """The region's schools, by name, with their municipalities."""
    return list(
        db.session.execute(
            sa.select(School).options(selectinload(School.municipality)).order_by(School.name)
        ).scalars()
    )


def normalize_letter(letter: str) -> str:
    letter = clean_text(letter).upper()
    if not 1 <= len(letter) <= 3 or any(char not in LETTER_CHARS for char in letter):
        raise invalid("letter", _l("The letter is one to three Russian capital letters."))
    return letter


def create_class(
    school_id: int, year_id: int, grade: int, letter: str, class_teacher_id: int | None = None
) -> SchoolClass:
    year = db.session.get(AcademicYear, year_id)
    if year is None or year.school_id != school_id:
        raise invalid("year_id", _l("Choose an academic year of this school."))
    if not 1 <= grade <= MAX_GRADE:
        raise invalid("grade", _l("The grade is from 1 to %(max)s.", max=MAX_GRADE))
    letter = normalize_letter(letter)
    taken = db.session.execute(
        sa.select(SchoolClass.id).where(
            SchoolClass.year_id == year.id, SchoolClass.grade == grade, SchoolClass.letter == letter
        )
    ).first()
    if taken:
        raise invalid(
            "letter", _l("The class %(name)s already exists this year.", name=f"{grade}{letter}")
        )
    school_class = SchoolClass(school_id=school_id, year_id=year.id, grade=grade, letter=letter)
    if class_teacher_id:
        make_class_teacher(
            school_class, teacher_of(school_id, class_teacher_id, "class_teacher_id")
        )
    db.session.add(school_class)
    commit()
    return school_class


def make_class_teacher(school_class: SchoolClass, member: StaffMember) -> None:
    school_class.class_teacher = member
    if "class_teacher" not in member.role_names:
        member.roles.append(StaffRole(role="class_teacher"))


def set_class_teacher(class_id: int, staff_id: int | None) -> SchoolClass:
    school_class = get(SchoolClass, class_id)
    if staff_id:
        make_class_teacher(
            school_class, teacher_of(school_class.school_id, staff_id, "class_teacher_id")
        )
    else:
        school_class.class_teacher = None
    commit()
    return school_class


def class_students(class_id: int, on: date | None = None) -> list[tuple[Student, Enrolment]]:
    """The students enrolled in the class on a day (today), by name."""
    on = on or clock.today()
    return [
        (row.Student, row.Enrolment)
        for row in db.session.execute(
            sa.select(Student, Enrolment)
            .join(Enrolment, Enrolment.student_id == Student.id)
            .where(
                Enrolment.class_id == class_id,
                enrolment_open_on(on),
            )
            .order_by(Student.family_name, Student.given_name)
        )
    ]


def class_by_name(school_id: int, year_id: int, name: str) -> SchoolClass | None:
    """«7Б» (also «7 Б», «7-б») in the year, or None."""
    text = clean_text(name).replace(" ", "").replace("-", "").upper()
    digits = ascii_digits(text)
    letter = text[len(digits) :]
    if not digits or not letter or not text.startswith(digits):
        return None
    return db.session.execute(
        sa.select(SchoolClass).where(
            SchoolClass.school_id == school_id,
            SchoolClass.year_id == year_id,
            SchoolClass.grade == int(digits),
            SchoolClass.letter == letter,
        )
    ).scalar_one_or_none()


def assignments_of(school_id: int) -> list[TeachingAssignment]:
    """Who teaches what in the classes of the current year."""
    classes = [c.id for c in classes_of(school_id)]
    return list(
        db.session.execute(
            sa.select(TeachingAssignment)
            .join(SchoolClass, SchoolClass.id == TeachingAssignment.class_id)
            .join(Subject, Subject.id == TeachingAssignment.subject_id)
            .where(TeachingAssignment.class_id.in_(classes))
            .order_by(SchoolClass.grade, SchoolClass.letter, Subject.name)
        ).scalars()
    )


def class_assignments(class_id: int) -> list[TeachingAssignment]:
    return list(
        db.session.execute(
            sa.select(TeachingAssignment)
            .join(Subject, Subject.id == TeachingAssignment.subject_id)
            .where(TeachingAssignment.class_id == class_id)
            .order_by(Subject.name)
        ).scalars()
    )


def add_assignment(class_id: int, subject_id: int, teacher_id: int) -> TeachingAssignment:
    school_class = get(SchoolClass, class_id)
    if db.session.get(Subject, subject_id) is None:
        raise invalid("subject_id", _l("Choose a subject from the list."))
    teacher = teacher_of(school_class.school_id, teacher_id, "teacher_id")
    taken = db.session.execute(
        sa.select(TeachingAssignment.id).where(
            TeachingAssignment.class_id == class_id,
            TeachingAssignment.subject_id == subject_id,
            TeachingAssignment.teacher_id == teacher.id,
        )
    ).first()
    if taken:
        raise invalid("teacher_id", _l("This teacher already teaches this subject in the class."))
    assignment = TeachingAssignment(class_id=class_id, subject_id=subject_id, teacher_id=teacher.id)
    db.session.add(assignment)
    commit()
    return assignment


def remove_assignment(assignment_id: int) -> None:
    assignment = get(TeachingAssignment, assignment_id)
    used = db.session.execute(
        sa.select(TimetableEntry.id).where(
            TimetableEntry.class_id == assignment.class_id,
            TimetableEntry.subject_id == assignment.subject_id,
            TimetableEntry.teacher_id == assignment.teacher_id,
        )
    ).first()
    if used:
        raise invalid("", _l("The timetable has these lessons; remove them from it first."))
    db.session.delete(assignment)
    commit()
