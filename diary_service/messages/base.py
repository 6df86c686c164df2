"""What every part of the messages room shares: the limits of what is typed, the form
error, and who is who (the students of classes, their guardians, the events a person
may hear of about a student)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

import diary_service.clock as clock
from diary_service.access import (
    Viewer,
    enrolment_open_on,
    link_sections,
)
from diary_service.extensions import db
from diary_service.models.family import Guardian
from diary_service.models.school import (
    Enrolment,
    Student,
)
from shared.errors import ValidationError
from shared.sessions import utcnow

MAX_SUBJECT = 200
MAX_BODY = 5000
MAX_REASON = 300
THREAD_LIST_LIMIT = 200
# A notification that failed this many times is given up (its row stays, unsent).
MAX_ATTEMPTS = 8
# The recipient choice, for staff, that means all the student's guardians at once.
ALL_GUARDIANS = "guardians"
# Which events each kind of notification setting covers: a staff member's own setting
# is about messages only; a child's covers everything that happens to the child.
CHILD_EVENTS = ("mark", "absence", "homework", "message")
OWN_EVENTS = ("message",)
# The section of the student's record (access.SECTIONS) each event tells about: a
# trusted person hears of what they may see, and only that.
EVENT_SECTIONS = {
    "mark": "marks",
    "absence": "attendance",
    "homework": "homework",
    "message": "messages",
}


class FieldError(ValidationError):
    """Input a form accepted but the rules refuse, naming the form field to show it at."""

    def __init__(self, field_name: str, message: str, **params: object) -> None:
        super().__init__(message, **params)
        self.field = field_name


# --- who is who -----------------------------------------------------------------------


def students_of_classes(class_ids: set[int], on: date | None = None) -> list[Student]:
    """The students enrolled in these classes on a day (today by default)."""
    if not class_ids:
        return []
    return list(
        db.session.execute(
            sa.select(Student)
            .join(Enrolment, Enrolment.student_id == Student.id)
            .where(Enrolment.class_id.in_(class_ids), enrolment_open_on(on or clock.today()))
            .order_by(Student.family_name, Student.given_name, Student.id)
        )
        .scalars()
        .unique()
    )


def guardians_of(
    student_ids: set[int], section: str = "messages", *, parents_only: bool = False
) -> list[Guardian]:
    """Active guardian links of these students whose guardian has signed in (a link
    still waiting for its parent has nobody to write to) and sees ``section`` of the
    student now: the parents, and the trusted persons whose open grant includes it
    (none with ``parents_only``)."""
    if not student_ids:
        return []
    query = sa.select(Guardian).where(
        Guardian.student_id.in_(student_ids),
        Guardian.person_id.is_not(None),
        Guardian.revoked_at.is_(None),
    )
    if parents_only:
        query = query.where(Guardian.kind == "parent")
    links = db.session.execute(query.order_by(Guardian.id)).scalars()
    now, today = utcnow(), clock.today()
    return [link for link in links if section in link_sections(link, now, today)]


def child_events(viewer: Viewer, student_id: int) -> tuple[str, ...]:
    """The events a person may be told of about a student: all of them for a parent and
    the student; a trusted person's only for the sections their grant gives."""
    if student_id in viewer.guardian_of or student_id in viewer.own_student_ids:
        return CHILD_EVENTS
    sections = viewer.trusted_sections.get(student_id, frozenset())
    return tuple(event for event in CHILD_EVENTS if EVENT_SECTIONS[event] in sections)
