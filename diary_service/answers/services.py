"""Rules of signed answers.

- A class teacher (or the school's administrator: ``can_lead_class``) asks the parents
  of their class; the request is open until its deadline (inclusive).
- The guardians of the class's students (enrolled today) see it and answer once per
  child; students and strangers do not see it.
- An answer needs the portal's confirmed level (``acr``) at a sign-in at most
  ``FRESH_SIGN_IN`` old: the stand-in for an electronic signature. The answer keeps
  that ``acr`` and ``auth_time`` so the school can tell who answered, when and how
  surely it was them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from diary_service.access import Viewer, enrolment_open_on

# Re-exported: the answers' views ask this access rule through services.
from diary_service.access import can_view_request as can_view_request
from diary_service.auth.services import ACR_PREFIX
from diary_service.extensions import db
from diary_service.models.answers import Answer, AnswerRequest
from diary_service.models.family import Guardian
from diary_service.models.school import Enrolment, SchoolClass, StaffMember, Student
from shared.errors import DomainError, Forbidden, NotFound, ValidationError

CONFIRMED_ACR = ACR_PREFIX + "confirmed"
FRESH_SIGN_IN = timedelta(minutes=5)
# A portal clock slightly ahead of ours must not make a fresh sign-in look future-dated.
CLOCK_SKEW = timedelta(seconds=60)
MAX_OPTIONS = 5


class ConfirmedAccountNeeded(Forbidden):
    default_message = _l(
        "Answering needs a confirmed account on the portal, and yours is not confirmed. "
        "Confirm it with the code from a registered letter (order it in your portal "
        "profile) or at a service centre with your passport, then answer again."
    )


class FreshSignInNeeded(DomainError):
    """The view answers it with a step-up sign-in at the portal, never a page."""

    status = 401
    code = "login_required"
    default_message = _l("Sign in at the portal again to answer.")


class RequestClosed(ValidationError):
    default_message = _l("The deadline for answers has passed.")


class AlreadyAnswered(ValidationError):
    default_message = _l("You have already answered for this student.")


@dataclass(frozen=True)
class ResultRow:
    """One line of the results: a student and one of their guardians (or none)."""

    student: Student
    guardian: Guardian | None
    answer: Answer | None


# --- reading --------------------------------------------------------------------------


def get_request(request_id: int) -> AnswerRequest:
    found = db.session.get(AnswerRequest, request_id)
    if found is None:
        raise NotFound()
    return found


def get_class(class_id: int) -> SchoolClass:
    found = db.session.get(SchoolClass, class_id)
    if found is None:
        raise NotFound()
    return found


def students_of_class(class_id: int, on: date) -> list[Student]:
    return list(
        db.session.execute(
            sa.select(Student)
            .join(Enrolment, Enrolment.student_id == Student.id)
            .where(
                Enrolment.class_id == class_id,
                enrolment_open_on(on),
            )
            .order_by(Student.family_name, Student.given_name)
        ).scalars()
    )


def children_asked(viewer: Viewer, request: AnswerRequest, today: date) -> list[Student]:
    """The viewer's children the request is about: those in its class today."""
    if not viewer.guardian_of:
        return []
    return [s for s in students_of_class(request.class_id, today) if s.id in viewer.guardian_of]


def requests_for_family(viewer: Viewer, today: date) -> list[tuple[AnswerRequest, list[Student]]]:
    """Open requests of the classes the viewer's children are in, with those children."""
    if not viewer.guardian_of:
        return []
    # The ids first: DISTINCT over whole rows cannot compare the JSON options on PostgreSQL.
    asked = (
        sa.select(AnswerRequest.id)
        .join(Enrolment, Enrolment.class_id == AnswerRequest.class_id)
        .where(
            Enrolment.student_id.in_(viewer.guardian_of),
            enrolment_open_on(today),
            AnswerRequest.deadline >= today,
        )
    )
    requests = db.session.execute(
        sa.select(AnswerRequest)
        .where(AnswerRequest.id.in_(asked))
        .order_by(AnswerRequest.deadline, AnswerRequest.id)
    ).scalars()
    return [(request, children_asked(viewer, request, today)) for request in requests]


def led_classes(viewer: Viewer) -> list[SchoolClass]:
    """Classes the viewer may ask the parents of (as class teacher or administrator)."""
    if not viewer.class_teacher_of and not viewer.school_admin_of:
        return []
    return list(
        db.session.execute(
            sa.select(SchoolClass)
            .where(
                sa.or_(
                    SchoolClass.id.in_(viewer.class_teacher_of),
                    SchoolClass.school_id.in_(viewer.school_admin_of),
                )
            )
            .order_by(SchoolClass.grade, SchoolClass.letter)
        ).scalars()
    )


def requests_of_classes(class_ids: list[int]) -> list[AnswerRequest]:
    if not class_ids:
        return []
    return list(
        db.session.execute(
            sa.select(AnswerRequest)
            .where(AnswerRequest.class_id.in_(class_ids))
            .order_by(AnswerRequest.deadline.desc(), AnswerRequest.id.desc())
        ).scalars()
    )


def answers_by(request: AnswerRequest, person_id: int) -> dict[int, Answer]:
    """The person's answers to the request, by student id."""
    rows = db.session.execute(
        sa.select(Answer).where(Answer.request_id == request.id, Answer.person_id == person_id)
    ).scalars()
    return {answer.student_id: answer for answer in rows}


def results(request: AnswerRequest, today: date) -> list[ResultRow]:
    """Every student of the class with each active parent and their answer; a student
    without a parent who has signed in gets one empty row (someone to call). Trusted
    persons are not asked: answering is for legal representatives."""
    students = students_of_class(request.class_id, today)
    ids = [student.id for student in students]
    guardians = db.session.execute(
        sa.select(Guardian)
        .where(
            Guardian.student_id.in_(ids),
            Guardian.kind == "parent",
            Guardian.revoked_at.is_(None),
        )
        .order_by(Guardian.id)
    ).scalars()
    by_student: dict[int, list[Guardian]] = {}
    for guardian in guardians:
        by_student.setdefault(guardian.student_id, []).append(guardian)
    answers = {
        (answer.student_id, answer.person_id): answer
        for answer in db.session.execute(
            sa.select(Answer).where(Answer.request_id == request.id)
        ).scalars()
    }
    rows = []
    for student in students:
        for guardian in by_student.get(student.id) or [None]:
            person_id = guardian.person_id if guardian else None
            rows.append(ResultRow(student, guardian, answers.get((student.id, person_id))))
    return rows


# --- writing --------------------------------------------------------------------------


def create_request(
    school_class: SchoolClass,
    author: StaffMember | None,
    *,
    title: str,
    text: str,
    options: list[str],
    deadline: date,
    today: date,
) -> AnswerRequest:
    options = [option.strip() for option in options if option.strip()]
    if len(options) < 2:
        raise ValidationError(_l("Give at least two answers to choose from."))
    if len(set(options)) != len(options):
        raise ValidationError(_l("The answers to choose from must differ."))
    if deadline < today:
        raise ValidationError(_l("The deadline cannot be in the past."))
    request = AnswerRequest(
        class_id=school_class.id,
        title=title.strip(),
        text=text.strip(),
        options=options[:MAX_OPTIONS],
        deadline=deadline,
        created_by_id=author.id if author else None,
    )
    db.session.add(request)
    db.session.commit()
    return request


def auth_time_of(auth_time: int | None) -> datetime | None:
    """The portal's ``auth_time`` (seconds since the epoch) as a naive UTC datetime."""
    if auth_time is None:
        return None
    return datetime.fromtimestamp(auth_time, UTC).replace(tzinfo=None)


def is_fresh(auth_time: int | None, now: datetime) -> bool:
    signed_in = auth_time_of(auth_time)
    return signed_in is not None and now - FRESH_SIGN_IN <= signed_in <= now + CLOCK_SKEW


def check_answer(
    viewer: Viewer, request: AnswerRequest, student_id: int, choice: str, today: date
) -> Student:
    """What an answer must be before any sign-in is asked for: the viewer's child in the
    class, the request open, a choice it offers, not answered yet. Returns the student."""
    student = next((s for s in children_asked(viewer, request, today) if s.id == student_id), None)
    if student is None or viewer.person is None:
        raise Forbidden()
    if not request.is_open(today):
        raise RequestClosed()
    if choice not in request.options:
        raise ValidationError(_l("Choose one of the answers offered."))
    if student.id in answers_by(request, viewer.person.id):
        raise AlreadyAnswered()
    return student


def record_answer(
    viewer: Viewer,
    request: AnswerRequest,
    *,
    student_id: int,
    choice: str,
    comment: str,
    acr: str | None,
    auth_time: int | None,
    now: datetime,
    today: date,
) -> Answer:
    """Record the viewer's answer for their child. ``acr`` and ``auth_time`` are the
    portal's from the sign-in of the viewer's session: ``ConfirmedAccountNeeded`` below
    the confirmed level, ``FreshSignInNeeded`` when that sign-in is not recent."""
    student = check_answer(viewer, request, student_id, choice, today)
    if acr != CONFIRMED_ACR:
        raise ConfirmedAccountNeeded()
    if not is_fresh(auth_time, now):
        raise FreshSignInNeeded()
    answer = Answer(
        request_id=request.id,
        student_id=student.id,
        person_id=viewer.person.id,
        choice=choice,
        comment=comment.strip()[:500],
        answered_at=now,
        acr=acr,
        auth_time=auth_time_of(auth_time),
    )
    db.session.add(answer)
    try:
        db.session.commit()
    except IntegrityError as error:  # the same answer sent twice at once
        db.session.rollback()
        raise AlreadyAnswered() from error
    return answer
