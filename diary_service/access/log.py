"""Writing the access log of a student's record ("who looked at my child's data", issue
5; its page is the family's, diary_service.family.audit). Pages that show a student's
record call ``record_access`` once their access check has passed. The family itself is
not logged: a parent (a guardian of kind ``parent``) looking at their own child, or a
student at their own record. Everyone else is: staff, and trusted persons (guardians of
kind ``trusted``), who are exactly the people a parent wants to know about. The log must
never break the page it is written from: a failed insert is rolled back to a savepoint
and logged without personal data. Repeated views of the same thing by the same person
within ``DEDUP_WINDOW`` are recorded once, so reloading a grid of 30 students does not
write 30 rows each time."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from diary_service.access.reach import roles_toward
from diary_service.access.rules import parent_links
from diary_service.access.viewer import Viewer
from diary_service.extensions import db
from diary_service.models.family import StudentAccess
from diary_service.models.school import Student
from shared.sessions import utcnow

log = logging.getLogger(__name__)


DEDUP_WINDOW = timedelta(minutes=10)


def record_access(viewer: Viewer, student_ids: Iterable[int], what: str) -> None:
    """Log that ``viewer`` saw ``what`` of these students (after the access check).
    Skips the viewer's own family; never raises.

    It commits, which expires what the session has loaded: pages showing many students
    call it after rendering (with the ids gathered before), so the template does not
    reload every student one by one."""
    if viewer.person is None:
        return
    wanted = set(student_ids) - viewer.own_student_ids
    wanted -= parent_links(viewer, list(wanted))
    if not wanted:
        return
    try:
        with db.session.begin_nested():
            _insert(viewer, wanted, what)
        db.session.commit()
    except SQLAlchemyError as error:
        # Only the error class: the message may carry the bound ids of the people.
        log.warning("access log not written (%s)", type(error).__name__)
        db.session.rollback()


def _insert(viewer: Viewer, student_ids: set[int], what: str) -> None:
    now = utcnow()
    person_id = viewer.person.id
    recent = set(
        db.session.execute(
            sa.select(StudentAccess.student_id).where(
                StudentAccess.viewer_id == person_id,
                StudentAccess.what == what,
                StudentAccess.student_id.in_(student_ids),
                StudentAccess.at >= now - DEDUP_WINDOW,
            )
        ).scalars()
    )
    new = student_ids - recent
    if not new:
        return
    roles = roles_toward(viewer, sorted(new))
    known = set(db.session.execute(sa.select(Student.id).where(Student.id.in_(new))).scalars())
    rows = [
        {
            "student_id": student_id,
            "viewer_id": person_id,
            "role": roles[student_id],
            "what": what,
            "at": now,
        }
        for student_id in sorted(new)
        if student_id in known
    ]
    if rows:
        db.session.execute(sa.insert(StudentAccess), rows)
