"""Service applications: the portal's way 3 of linking a parent to a student.

A parent applies on the portal for "Access to the student's electronic diary", naming a
child the portal verified and a school of this region. The portal sends the application
here (``application.submitted``, a message it signs; diary_service.federation); it is
kept as an ``Application`` and answered with its term: three working days by the
Russian production calendar, counted from the day it arrived in the region's time
zone. The school's administrators see their school's applications, take one into work,
and approve it (the link: a ``Guardian`` of source ``application``) or refuse it with a
ground and, where needed, their own words. Each step goes back to the portal
(``application.status``) through the outbox, so the citizen sees it in their cabinet.

Rules:

- The portal may send the same application twice (a lost answer): the portal's id
  finds the one already here and the answer tells its current state.
- An application for a school the diary does not have is answered "refused" with the
  reason, and not kept (there is no school to show it to).
- The child is matched on arrival to a student of that school by SNILS (its blind
  index) and birth date; when that finds nobody (or several), the administrator chooses
  among the school's students born on the child's birth date.
- A decision is final: a decided application cannot be decided again, even by two
  administrators at the same moment (the decision is claimed in one statement).
- The applicant is named in the link by the portal person once they have signed in,
  and otherwise by their SNILS's blind index, so that their first sign-in ties the link
  to them (``diary_service.auth.services.link_records``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import LazyString, force_locale
from flask_babel import lazy_gettext as _l

from diary_service.access import class_of
from diary_service.extensions import db
from diary_service.federation.services import send_to_portal
from diary_service.models.auth import DiaryPerson
from diary_service.models.family import (
    OPEN_APPLICATION_STATUSES,
    Application,
    Guardian,
)
from diary_service.models.school import SchoolClass, StaffMember, Student
from shared.errors import NotFound, ValidationError
from shared.federation import utc_text
from shared.i18n import DEFAULT_LANGUAGE
from shared.sessions import utcnow
from shared.workdays import term_end, working_days_between

SUBMITTED = "application.submitted"
STATUS = "application.status"
# The service's term (the catalog's card: "3 working days").
TERM_WORKING_DAYS = 3
GENDERS = ("male", "female")
COMMENT_LENGTH = 500

# Why a school may refuse (the grounds for refusal on the service's card), and the
# sentence the citizen reads for each. "other" has no sentence: the school's own words
# are the reason.
REFUSAL_GROUNDS: dict[str, LazyString] = {
    "not_enrolled": _l("The child does not study at this school."),
    "data_mismatch": _l(
        "The child's details in the application do not match the school's records."
    ),
    "no_authority": _l(
        "The school's records do not confirm that the applicant is the child's legal "
        "representative."
    ),
    "already_linked": _l("The applicant already has access to the child's diary."),
    "other": _l("Another reason"),
}
OTHER_GROUND = "other"

UNKNOWN_SCHOOL = _l(
    "There is no such school in the region's electronic diary. Apply again and choose "
    "the school from the list."
)
MALFORMED = _l("The application is incomplete or malformed.")


class AlreadyDecided(ValidationError):
    default_message = _l(
        "This application has already been decided. A decision cannot be changed or made twice."
    )


def in_region_language(message: LazyString | str) -> str:
    """What the portal passes on to the citizen, and what the school's records keep: in
    the region's language, whatever language the page that decided it was in."""
    with force_locale(DEFAULT_LANGUAGE):
        return str(message)


def deadline_for(received_at: datetime, zone: str) -> date:
    """The last day of the term: ``TERM_WORKING_DAYS`` working days after the day the
    application arrived in the region (counting starts the next day)."""
    return term_end(received_at, TERM_WORKING_DAYS, zone)


def working_days_left(today: date, deadline: date) -> int:
    """Working days after today up to the deadline: 0 when today is the last day;
    negative by how many working days it is overdue (0 on a day off right after it)."""
    if deadline >= today:
        return working_days_between(today, deadline)
    return -working_days_between(deadline, today)


def is_overdue(application: Application, today: date) -> bool:
    return application.is_open and today > application.deadline


# --- arrival (portal → diary) -----------------------------------------------------------


# --- the school's administrators -------------------------------------------------------


def get_application(application_id: int) -> Application:
    application = db.session.get(Application, application_id)
    if application is None:
        raise NotFound(_l("There is no such application."))
    return application


@dataclass
class Row:
    application: Application
    overdue: bool
    days_left: int


# The list's order: new ones first, then those in work, then the decided.
_STATUS_ORDER = sa.case(
    (Application.status == "received", 0), (Application.status == "in_progress", 1), else_=2
)


def school_applications(school_id: int, today: date, limit: int = 500) -> list[Row]:
    """The school's applications: open ones first (new, then in work), each group
    newest first, with whether each is overdue and how many working days it has left."""
    applications = db.session.execute(
        sa.select(Application)
        .where(Application.school_id == school_id)
        .order_by(_STATUS_ORDER, Application.received_at.desc(), Application.id.desc())
        .limit(limit)
    ).scalars()
    return [
        Row(
            application=application,
            overdue=is_overdue(application, today),
            days_left=working_days_left(today, application.deadline),
        )
        for application in applications
    ]


def open_count(school_ids: set[int] | frozenset[int]) -> int:
    """How many applications of these schools wait for a decision."""
    return sum(open_counts(school_ids).values())


def open_counts(school_ids: set[int] | frozenset[int]) -> dict[int, int]:
    """Open applications per school."""
    if not school_ids:
        return {}
    rows = db.session.execute(
        sa.select(Application.school_id, sa.func.count(Application.id))
        .where(
            Application.school_id.in_(school_ids),
            Application.status.in_(OPEN_APPLICATION_STATUSES),
        )
        .group_by(Application.school_id)
    ).all()
    return dict(rows)


@dataclass
class Candidate:
    """A student of the school who may be the child: born on the child's birth date."""

    student: Student
    school_class: SchoolClass | None
    snils_matches: bool


def candidates(application: Application, today: date) -> list[Candidate]:
    """The school's students born on the child's birth date, by name, with whether
    their SNILS is the child's (the administrator sees that it matches, never the
    number)."""
    students = db.session.execute(
        sa.select(Student)
        .where(
            Student.school_id == application.school_id,
            Student.birth_date == application.child_birth_date,
        )
        .order_by(Student.family_name, Student.given_name, Student.id)
    ).scalars()
    return [
        Candidate(
            student=student,
            school_class=class_of(student, today),
            snils_matches=bool(application.child_snils_index)
            and student.snils_index == application.child_snils_index,
        )
        for student in students
    ]


def _status_data(application: Application, at: datetime) -> dict[str, Any]:
    return {
        "id": application.portal_id,
        "status": application.status,
        "reason": application.reason or None,
        "at": utc_text(at),
    }


def _tell_portal(application: Application, at: datetime) -> None:
    """Queue the application's new status for the portal; commits the caller's changes
    with it (one transaction: the status and the message owed about it)."""
    send_to_portal(
        STATUS, f"{application.portal_id}:{application.status}", _status_data(application, at)
    )


def _claim(application: Application, allowed: tuple[str, ...], **values: Any) -> None:
    """Move the application out of ``allowed`` statuses in one statement, so that of two
    administrators deciding at the same moment only one does; ``AlreadyDecided`` for the
    other (their changes in this transaction are undone)."""
    claimed = db.session.execute(
        sa.update(Application)
        .where(Application.id == application.id, Application.status.in_(allowed))
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise AlreadyDecided()
    db.session.refresh(application)


def _require_open(application: Application) -> None:
    if not application.is_open:
        raise AlreadyDecided()


def take_into_work(
    application: Application, staff: StaffMember, now: datetime | None = None
) -> Application:
    """The administrator starts on a new application: it is ``in_progress`` and the
    citizen is told."""
    _require_open(application)
    if application.status != "received":
        raise ValidationError(_l("The application is already in work."))
    now = now or utcnow()
    _claim(application, ("received",), status="in_progress", taken_at=now, taken_by_id=staff.id)
    _tell_portal(application, now)
    return application


def _person_of(application: Application) -> DiaryPerson | None:
    """The applicant in the diary: by the portal's subject, or by the verified SNILS
    (the same person); None when they have never signed in."""
    person = db.session.execute(
        sa.select(DiaryPerson).where(DiaryPerson.sub == application.applicant_sub)
    ).scalar_one_or_none()
    if person is not None:
        return person
    return (
        db.session.execute(
            sa.select(DiaryPerson)
            .where(DiaryPerson.snils_index == application.applicant_snils_index)
            .order_by(DiaryPerson.signed_in_at.desc())
        )
        .scalars()
        .first()
    )


def _chosen_student(application: Application, student_id: int | None) -> Student:
    chosen_id = student_id or application.student_id
    if chosen_id is None:
        raise ValidationError(_l("Choose the student the application is about."))
    student = db.session.get(Student, chosen_id)
    if (
        student is None
        or student.school_id != application.school_id
        or student.birth_date != application.child_birth_date
    ):
        raise ValidationError(_l("Choose a student of this school born on the child's birth date."))
    return student


def approve(
    application: Application,
    staff: StaffMember,
    student_id: int | None = None,
    now: datetime | None = None,
) -> Guardian:
    """Approve: the applicant becomes a parent of the student (the one matched, or
    ``student_id`` the administrator chose among ``candidates``), the application is
    ``done`` and the citizen is told. An applicant already linked to the student keeps
    their link (the application is done all the same)."""
    _require_open(application)
    student = _chosen_student(application, student_id)
    if student.snils_index == application.applicant_snils_index:
        raise ValidationError(_l("The applicant is the student themselves."))
    now = now or utcnow()
    person = _person_of(application)
    if person is not None and student.person_id == person.id:
        raise ValidationError(_l("The applicant is the student themselves."))
    guardian = _current_link(student, application, person)
    if guardian is None:
        guardian = Guardian(
            student_id=student.id,
            person_id=person.id if person else None,
            snils_index=application.applicant_snils_index,
            family_name=application.applicant_family_name,
            given_name=application.applicant_given_name,
            middle_name=application.applicant_middle_name,
            kind="parent",
            source="application",
            reason=in_region_language(
                _l(
                    "service application № %(number)s approved by %(staff)s on %(date)s",
                    number=application.id,
                    staff=staff.short_name,
                    date=now.strftime("%d.%m.%Y"),
                )
            )[:300],
            created_by_id=staff.id,
            created_at=now,
        )
        db.session.add(guardian)
        db.session.flush()
    _claim(
        application,
        OPEN_APPLICATION_STATUSES,
        status="done",
        student_id=student.id,
        guardian_id=guardian.id,
        decided_at=now,
        decided_by_id=staff.id,
    )
    _tell_portal(application, now)
    return guardian


def _current_link(
    student: Student, application: Application, person: DiaryPerson | None
) -> Guardian | None:
    """The applicant's link to the student still in force, if any."""
    named = Guardian.snils_index == application.applicant_snils_index
    if person is not None:
        named = named | (Guardian.person_id == person.id)
    return db.session.execute(
        sa.select(Guardian)
        .where(Guardian.student_id == student.id, Guardian.revoked_at.is_(None), named)
        .limit(1)
    ).scalar_one_or_none()


def refusal_reason(ground: str, comment: str | None) -> str:
    """The reason the citizen reads, in the region's language: the ground's sentence and
    the school's words; for "another reason", the school's words alone (required)."""
    if ground not in REFUSAL_GROUNDS:
        raise ValidationError(_l("Choose the ground for refusal."))
    comment = " ".join((comment or "").split())[:COMMENT_LENGTH]
    if ground == OTHER_GROUND:
        if not comment:
            raise ValidationError(_l("Write the reason for refusal."))
        return comment
    sentence = in_region_language(REFUSAL_GROUNDS[ground])
    return f"{sentence} {comment}" if comment else sentence


def refuse(
    application: Application,
    staff: StaffMember,
    ground: str,
    comment: str | None = None,
    now: datetime | None = None,
) -> Application:
    """Refuse with a ground (``REFUSAL_GROUNDS``) and the school's words: the
    application is ``refused`` and the citizen is told why."""
    _require_open(application)
    reason = refusal_reason(ground, comment)
    now = now or utcnow()
    _claim(
        application,
        OPEN_APPLICATION_STATUSES,
        status="refused",
        refusal_ground=ground,
        reason=reason,
        decided_at=now,
        decided_by_id=staff.id,
    )
    _tell_portal(application, now)
    return application
