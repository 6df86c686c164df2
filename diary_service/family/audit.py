"""The access log of a student's record ("who looked at my child's data", issue 5).

Pages that show a student's record call ``record_access`` once their access check has
passed; the student's parents read the log on ``/students/<id>/access-log``. The family
itself is not logged: a parent (a guardian of kind ``parent``) looking at their own
child, or a student at their own record. Everyone else is: staff, and trusted persons
(guardians of kind ``trusted``), who are exactly the people a parent wants to know about.

The log must never break the page it is written from: a failed insert is rolled back to
a savepoint and logged without personal data. Repeated views of the same thing by the
same person within ``DEDUP_WINDOW`` are recorded once, so reloading a grid of 30
students does not write 30 rows each time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from diary_service.extensions import db
from diary_service.models.family import StudentAccess
from diary_service.models.school import Student

PAGE_SIZE = 50

ROLE_LABELS = {
    "teacher": _l("teacher"),
    "class_teacher": _l("class teacher"),
    "school_admin": _l("school administrator"),
    "health_worker": _l("health worker"),
    "department": _l("education department"),
    "trusted": _l("trusted person"),
    "student": _l("student"),
    "other": _l("other"),
}

WHAT_LABELS = {
    "week": _l("diary week"),
    "week_print": _l("printed diary week"),
    "marks": _l("marks"),
    "attendance": _l("attendance"),
    "news": _l("news and meetings"),
    "journal": _l("class journal"),
    "lesson": _l("lesson page in the journal"),
    "final": _l("period and year marks in the journal"),
    "history": _l("history of a mark or absence"),
    "school": _l("student card at school"),
    "report": _l("class report"),
    "report_export": _l("class report file"),
    "report_print": _l("printed class journal"),
    "rating": _l("place in the class rating"),
    "api:week": _l("diary week (mobile app)"),
    "api:marks": _l("marks (mobile app)"),
    "api:homework": _l("homework (mobile app)"),
    "api:attendance": _l("attendance (mobile app)"),
}


@dataclass
class AccessEntry:
    at: datetime
    name: str
    role: str
    what: str


@dataclass
class AccessLogPage:
    entries: list[AccessEntry]
    page: int
    has_next: bool


def access_log(student: Student, page: int) -> AccessLogPage:
    """A page of the student's log, newest first."""
    page = max(page, 1)
    rows = list(
        db.session.execute(
            sa.select(StudentAccess)
            .options(joinedload(StudentAccess.viewer))
            .where(StudentAccess.student_id == student.id)
            .order_by(StudentAccess.at.desc(), StudentAccess.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        ).scalars()
    )
    entries = [
        AccessEntry(
            at=row.at,
            name=row.viewer.full_name if row.viewer is not None else "",
            role=str(ROLE_LABELS.get(row.role, ROLE_LABELS["other"])),
            what=str(WHAT_LABELS.get(row.what, row.what)),
        )
        for row in rows[:PAGE_SIZE]
    ]
    return AccessLogPage(entries=entries, page=page, has_next=len(rows) > PAGE_SIZE)
