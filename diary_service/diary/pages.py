"""Whose diary a viewer has and what every page of it shares: the children (and the
viewer's own record) a viewer sees, the student, class and years a page shows, the
pages' words.

Who may see what is decided by ``diary_service.access`` only: the views ask
``reach_for`` once and the pages' builders load nothing the viewer's ``Reach`` does not
cover: no section they may not see (a student never receives the remarks addressed to
their parents, not even hidden in the page), and for staff nothing outside the
enrolments that tie them to the student (the old school sees its own time, the new
school its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

import diary_service.clock as clock
from diary_service.access import Reach, Viewer, class_of, enrolment_open_on, reach_of
from diary_service.extensions import db
from diary_service.models.school import (
    AcademicYear,
    Enrolment,
    SchoolClass,
    Student,
)

# Re-exported for the family's templates: the journal's words for its codes.
from diary_service.school.labels import ATTENDANCE_LABELS as ATTENDANCE_LABELS
from diary_service.school.labels import MARK_KIND_LABELS as MARK_KIND_LABELS
from diary_service.school.labels import MARK_VALUE_WORDS as MARK_VALUE_WORDS
from diary_service.school.labels import REMARK_KIND_LABELS as REMARK_KIND_LABELS
from shared.errors import NotFound

# The diary week runs Monday to Saturday (a six-day school has Saturday lessons).
WEEK_LENGTH = 6
# How many ways to lift the suggested mark the marks page spells out (heaviest first).
FORECASTS_SHOWN = 3
PAST_NEWS_SHOWN = 30

# The same kinds as the forecast sentence needs them ("one 5 for a control work").
FOR_MARK_KIND = {
    "control": _l("for a control work"),
    "test": _l("for a short test"),
    "independent": _l("for an independent work"),
    "dictation": _l("for a dictation"),
    "lab": _l("for a laboratory or practical work"),
    "project": _l("for a project"),
    "oral": _l("for an oral answer"),
    "classwork": _l("for work in class"),
    "homework": _l("for a homework assignment"),
}
NOTICE_KIND_LABELS = {"news": _l("news"), "event": _l("event"), "quarantine": _l("quarantine")}
AVERAGE_LABELS = {"weighted": _l("weighted average"), "arithmetic": _l("arithmetic mean")}

# --- whose diary ---------------------------------------------------------------------


# The family's pages and the section each needs (``_diary.html``'s tabs say the same).
PAGE_SECTIONS = {
    "week": "schedule",
    "marks": "marks",
    "attendance": "attendance",
    "news": "schedule",
}


@dataclass
class Child:
    """A student on the viewer's list, with the class they are in today and what the
    viewer sees of them; ``is_trusted`` when they see them as a trusted person (until
    ``trusted_until``, None: until revoked)."""

    student: Student
    school_class: SchoolClass | None
    is_self: bool
    sections: frozenset[str] = frozenset()
    is_trusted: bool = False
    trusted_until: date | None = None

    @property
    def pages(self) -> list[str]:
        """The family pages the viewer may open for this child, in tab order."""
        return [page for page, section in PAGE_SECTIONS.items() if section in self.sections]

    def page(self, wanted: str) -> str | None:
        """``wanted`` if the viewer may open it for this child, else their first page
        (a switcher never leads to a refusal); None when no page is theirs."""
        pages = self.pages
        return wanted if wanted in pages else next(iter(pages), None)


def children_of(viewer: Viewer, today: date | None = None) -> list[Child]:
    """The viewer's children (as parent, or as trusted person with an open grant) and
    their own student record, across schools, by name."""
    ids = viewer.family_ids
    if not ids:
        return []
    students = list(
        db.session.execute(
            sa.select(Student)
            .where(Student.id.in_(ids))
            .order_by(Student.family_name, Student.given_name, Student.id)
        ).scalars()
    )
    today = today or clock.today()
    enrolled = classes_today([student.id for student in students], today)
    return [
        Child(
            student=student,
            school_class=enrolled.get(student.id),
            is_self=student.id in viewer.own_student_ids,
            sections=sections_for(viewer, student),
            is_trusted=viewer.is_trusted_of(student.id),
            trusted_until=viewer.trusted_until.get(student.id),
        )
        for student in students
    ]


def classes_today(student_ids: list[int], today: date) -> dict[int, SchoolClass]:
    """``class_of`` of several students on one day, in one statement."""
    if not student_ids:
        return {}
    found: dict[int, SchoolClass] = {}
    for student_id, school_class in db.session.execute(
        sa.select(Enrolment.student_id, SchoolClass)
        .join(SchoolClass, SchoolClass.id == Enrolment.class_id)
        .where(Enrolment.student_id.in_(student_ids), enrolment_open_on(today))
        .order_by(Enrolment.starts_on.desc())
    ).all():
        found.setdefault(student_id, school_class)
    return found


def get_student(student_id: int) -> Student:
    student = db.session.get(Student, student_id)
    if student is None:
        raise NotFound(_l("There is no such student."))
    return student


def get_class(class_id: int) -> SchoolClass:
    school_class = db.session.get(SchoolClass, class_id)
    if school_class is None:
        raise NotFound(_l("There is no such class."))
    return school_class


def reach_for(viewer: Viewer, student: Student) -> Reach:
    """What of the student's record the viewer sees (``access.reach_of``)."""
    return reach_of(viewer, student)


def sections_for(viewer: Viewer, student: Student) -> frozenset[str]:
    """The parts of the student's record the viewer may see (somewhere in it)."""
    return reach_of(viewer, student).sections


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def years_of(student: Student, reach: Reach, section: str) -> list[AcademicYear]:
    """The academic years of the student's classes the viewer sees of ``section``,
    latest first."""
    query = (
        sa.select(AcademicYear)
        .join(SchoolClass, SchoolClass.year_id == AcademicYear.id)
        .join(Enrolment, Enrolment.class_id == SchoolClass.id)
        .where(Enrolment.student_id == student.id)
    )
    shown = reach.year_ids(section)
    if shown is not None:
        query = query.where(AcademicYear.id.in_(shown))
    return list(
        db.session.execute(query.distinct().order_by(AcademicYear.starts_on.desc())).scalars()
    )


def current_year(student: Student, today: date, reach: Reach, section: str) -> AcademicYear | None:
    """The year of the class the student is in today, if the viewer sees it; otherwise
    the latest year they see."""
    school_class = class_of(student, today)
    if school_class is not None and reach.sees(section, school_class.id, today):
        return school_class.year
    years = years_of(student, reach, section)
    return years[0] if years else None


def choose_year(
    student: Student, year_id: int | None, today: date, reach: Reach, section: str
) -> AcademicYear:
    if year_id is None:
        year = current_year(student, today, reach, section)
    else:
        year = next((y for y in years_of(student, reach, section) if y.id == year_id), None)
    if year is None:
        raise NotFound(_l("The student has no academic year here."))
    return year
