"""An application's arrival (portal → diary): the portal's message
``application.submitted`` read and checked, the child matched to a student of the
school, the application kept and answered with its term; a repeated message is answered
with the application's current state."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from diary_service.applications.services import (
    GENDERS,
    MALFORMED,
    SUBMITTED,
    UNKNOWN_SCHOOL,
    deadline_for,
    in_region_language,
)
from diary_service.auth.services import snils_index
from diary_service.extensions import db
from diary_service.federation.services import handles
from diary_service.models.family import (
    Application,
)
from diary_service.models.school import School, Student
from shared.errors import ValidationError
from shared.federation import utc_text
from shared.sessions import utcnow


@dataclass(frozen=True)
class Submitted:
    """An ``application.submitted`` message reduced to what the diary keeps: names,
    birth date and gender as the portal verified them, blind indexes for the SNILS."""

    portal_id: str
    school_id: int
    submitted_at: datetime
    applicant: dict[str, Any]
    child: dict[str, Any]

    def __repr__(self) -> str:  # names and contacts are personal data
        return f"<Submitted {self.portal_id}>"


def _text(source: dict[str, Any], name: str, limit: int, required: bool = False) -> str | None:
    value = source.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValidationError(MALFORMED)
    return value.strip()[:limit] or None


def _index(snils: Any, key: str, required: bool) -> str | None:
    if snils is None and not required:
        return None
    if not isinstance(snils, str):
        raise ValidationError(MALFORMED)
    try:
        return snils_index(snils, key)
    except ValueError as error:
        raise ValidationError(MALFORMED) from error


def _moment(value: Any) -> datetime:
    """ISO-8601 with an offset (``Z`` or ``+03:00``), as a naive UTC moment."""
    if not isinstance(value, str):
        raise ValidationError(MALFORMED)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise ValidationError(MALFORMED) from error
    if moment.tzinfo is None:
        raise ValidationError(MALFORMED)
    return moment.astimezone(UTC).replace(tzinfo=None)


def parse_submitted(data: dict[str, Any], index_key: str) -> Submitted:
    """Check the message's shape; ``ValidationError`` (the portal is told 400 and does
    not retry) when something the diary needs is missing or malformed. The portal signed
    it, so this guards against a bug, not an attacker: nothing of it is echoed back."""
    applicant, child = data.get("applicant"), data.get("child")
    school_id = data.get("school_id")
    if (
        not isinstance(applicant, dict)
        or not isinstance(child, dict)
        or not isinstance(school_id, int)
        or isinstance(school_id, bool)
    ):
        raise ValidationError(MALFORMED)
    # The portal's id is kept as the portal wrote it: its status messages name it so.
    portal_id = data.get("id")
    if not isinstance(portal_id, str) or len(portal_id) != 36:
        raise ValidationError(MALFORMED)
    try:
        uuid.UUID(portal_id)
        birth_date = date.fromisoformat(str(child.get("birthdate")))
    except ValueError as error:
        raise ValidationError(MALFORMED) from error
    # Only shown to the school, never matched on: an absent gender does not stop the
    # application, a value the protocol does not know does.
    gender = child.get("gender")
    if gender is not None and gender not in GENDERS:
        raise ValidationError(MALFORMED)
    return Submitted(
        portal_id=portal_id,
        school_id=school_id,
        submitted_at=_moment(data.get("submitted_at")),
        applicant={
            "applicant_sub": _text(applicant, "sub", 64, required=True),
            "applicant_family_name": _text(applicant, "family_name", 100) or "",
            "applicant_given_name": _text(applicant, "given_name", 100) or "",
            "applicant_middle_name": _text(applicant, "middle_name", 100),
            "applicant_snils_index": _index(applicant.get("snils"), index_key, required=True),
            "applicant_phone": _text(applicant, "phone", 20),
            "applicant_email": _text(applicant, "email", 254),
        },
        child={
            "child_portal_id": _text(child, "id", 64, required=True),
            "child_family_name": _text(child, "family_name", 100) or "",
            "child_given_name": _text(child, "given_name", 100) or "",
            "child_middle_name": _text(child, "middle_name", 100),
            "child_birth_date": birth_date,
            "child_gender": gender or "",
            "child_snils_index": _index(child.get("snils"), index_key, required=False),
        },
    )


def answer_of(application: Application) -> dict[str, Any]:
    """What the portal is told about an application: its state, when it arrived, the
    term, and the reason once refused."""
    answer: dict[str, Any] = {
        "status": application.status,
        "received_at": utc_text(application.received_at),
        "deadline": application.deadline.isoformat(),
    }
    if application.status == "refused":
        answer["reason"] = application.reason
    return answer


def find_by_portal_id(portal_id: str) -> Application | None:
    return db.session.execute(
        sa.select(Application).where(Application.portal_id == portal_id)
    ).scalar_one_or_none()


def match_student(school_id: int, snils_index_: str | None, birth_date: date) -> Student | None:
    """The school's one student with this SNILS (blind index) and birth date; None when
    there is none, or more than one (then a person decides)."""
    if not snils_index_:
        return None
    found = list(
        db.session.execute(
            sa.select(Student)
            .where(
                Student.school_id == school_id,
                Student.snils_index == snils_index_,
                Student.birth_date == birth_date,
            )
            .limit(2)
        ).scalars()
    )
    return found[0] if len(found) == 1 else None


def receive_application(
    data: dict[str, Any], *, index_key: str, zone: str, now: datetime | None = None
) -> dict[str, Any]:
    """Take an application the portal sent and answer it (``answer_of``). The same
    application again gets the answer of the one already here; a school the region does
    not have gets ``{"status": "refused", "reason": ...}`` and nothing is kept."""
    submitted = parse_submitted(data, index_key)
    existing = find_by_portal_id(submitted.portal_id)
    if existing is not None:
        return answer_of(existing)
    school = db.session.get(School, submitted.school_id)
    if school is None:
        return {"status": "refused", "reason": in_region_language(UNKNOWN_SCHOOL)}
    now = now or utcnow()
    student = match_student(
        school.id, submitted.child["child_snils_index"], submitted.child["child_birth_date"]
    )
    application = Application(
        portal_id=submitted.portal_id,
        school_id=school.id,
        submitted_at=submitted.submitted_at,
        **submitted.applicant,
        **submitted.child,
        student_id=student.id if student else None,
        status="received",
        reason="",
        received_at=now,
        deadline=deadline_for(now, zone),
    )
    db.session.add(application)
    try:
        db.session.commit()
    except IntegrityError:
        # The same message delivered twice at the same moment: the other one is kept.
        db.session.rollback()
        existing = find_by_portal_id(submitted.portal_id)
        if existing is None:
            raise
        return answer_of(existing)
    return answer_of(application)


@handles(SUBMITTED)
def on_submitted(data: dict[str, Any]) -> dict[str, Any]:
    """``application.submitted`` from the portal (diary_service.federation)."""
    config = current_app.config
    return receive_application(
        data, index_key=config["BLIND_INDEX_KEY"], zone=config["NOTIFY_TIMEZONE"]
    )
