"""What every section of the school's services shares: the form errors they raise, the
school's roles and limits, looking records up (404 for what does not exist), the
schools a viewer works in, and committing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from diary_service.access import Viewer
from diary_service.auth.services import snils_index
from diary_service.extensions import db
from diary_service.models.auth import DiaryPerson
from diary_service.models.family import Guardian
from diary_service.models.journal import MarkPolicy
from diary_service.models.school import (
    AcademicYear,
    Bell,
    Enrolment,
    Holiday,
    Notice,
    ParentMeeting,
    Period,
    School,
    SchoolClass,
    StaffMember,
    Student,
    TeachingAssignment,
    TimetableChange,
)
from shared.errors import NotFound, ValidationError
from shared.validators import normalize_snils

# Roles a school gives its own staff; ``department`` belongs to the region, not a school.
SCHOOL_ROLES = ("teacher", "class_teacher", "school_admin", "health_worker")
TEACHING_ROLES = ("teacher", "class_teacher")
# How many periods each kind divides a year into.
PERIODS_PER_YEAR = {"quarter": 4, "trimester": 3, "semester": 2}
MAX_GRADE = 11
MAX_LESSONS = 12
LETTER_CHARS = "АБВГДЕЁЖЗИКЛМНОПРСТУФХЦЧШЩЭЮЯ"

SNILS_MESSAGES = {
    "snils_format": _l("Enter the SNILS as 11 digits, for example 112-233-445 95."),
    "snils_checksum": _l("The SNILS check digits do not match: check the number."),
}

M = TypeVar("M")


class FormErrors(ValidationError):
    """What is wrong, by the input it concerns (a form field's name, ``""`` for the
    input as a whole). ``message`` is the first of them."""

    def __init__(self, errors: Mapping[str, Iterable[Any]]) -> None:
        self.errors = {name: list(messages) for name, messages in errors.items() if messages}
        first = next(iter(self.errors.values()))[0]
        super().__init__(first)


def invalid(field: str, message: Any) -> FormErrors:
    return FormErrors({field: [message]})


# --- the schools a viewer works in ----------------------------------------------------------


def schools_for(viewer: Viewer) -> list[tuple[School, bool, bool]]:
    """The schools the viewer works in as administrator or health worker:
    ``(school, administers, health_worker)`` by name."""
    ids = viewer.school_admin_of | viewer.health_worker_of
    if not ids:
        return []
    schools = db.session.execute(
        sa.select(School).where(School.id.in_(ids)).order_by(School.name)
    ).scalars()
    return [
        (school, school.id in viewer.school_admin_of, school.id in viewer.health_worker_of)
        for school in schools
    ]


# --- looking things up ------------------------------------------------------------------


def get(model: type[M], object_id: int) -> M:
    """The row, or ``NotFound``."""
    found = db.session.get(model, object_id)
    if found is None:
        raise NotFound()
    return found


def get_school(school_id: int) -> School:
    return get(School, school_id)


def school_of(obj: Any) -> int | None:
    """The school a row of this room belongs to."""
    if isinstance(obj, School):
        return obj.id
    if isinstance(obj, SchoolClass | StaffMember | Bell | AcademicYear | Notice):
        return obj.school_id
    if isinstance(obj, Period | Holiday):
        return obj.year.school_id
    if isinstance(obj, TeachingAssignment | TimetableChange | ParentMeeting):
        return obj.school_class.school_id
    if isinstance(obj, Guardian):
        return obj.student.school_id
    if isinstance(obj, MarkPolicy):
        return obj.school_id
    raise TypeError(type(obj).__name__)


def belongs_to(obj: Any, school_id: int) -> bool:
    """Is the row the school's? A student is, while enrolled there or once was (the
    school keeps reading the history of those who transferred or left)."""
    if isinstance(obj, Student):
        return obj.school_id == school_id or school_id in schools_of_student(obj.id)
    return school_of(obj) == school_id


def schools_of_student(student_id: int) -> set[int]:
    return set(
        db.session.execute(
            sa.select(SchoolClass.school_id)
            .join(Enrolment, Enrolment.class_id == SchoolClass.id)
            .where(Enrolment.student_id == student_id)
        ).scalars()
    )


def index_of_snils(snils: str, field: str = "snils") -> str:
    """The blind index of a SNILS as staff typed it; ``FormErrors`` on ``field`` if it is
    not a SNILS. The number itself is never kept."""
    try:
        normalize_snils(snils)
    except ValueError as exc:
        raise invalid(field, SNILS_MESSAGES.get(str(exc), SNILS_MESSAGES["snils_format"])) from exc
    return snils_index(snils, current_app.config["BLIND_INDEX_KEY"])


def person_with_snils(index: str) -> DiaryPerson | None:
    """The signed-in person whose verified SNILS has this blind index, if any."""
    return db.session.execute(
        sa.select(DiaryPerson).where(DiaryPerson.snils_index == index).limit(1)
    ).scalar_one_or_none()


def commit() -> None:
    """Commit; a unique constraint someone else reached first is a validation error."""
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise invalid(
            "", _l("Someone has just saved the same data. Reload the page and check.")
        ) from exc


def clean_text(text: str | None) -> str:
    return (text or "").strip()


def is_named(names: sa.Select, name: str) -> bool:
    """Is ``name`` among the names, ignoring case? Compared here, not in SQL: SQLite's
    lower() folds only ASCII, and these lists are short (a region's municipalities,
    subjects, a municipality's schools)."""
    wanted = name.casefold()
    return any(other.casefold() == wanted for other in db.session.execute(names).scalars())
