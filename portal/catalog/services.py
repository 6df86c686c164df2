"""The catalog's search and the service application "Access to the student's electronic
diary": a parent with a standard account picks a verified child, a region and a school
of that region's diary; the application travels to the diary (portal/federation), whose
answers and status messages move it along sent → received → in_progress → done |
refused (or undelivered when delivery is given up). Every change is recorded and the
citizen is told.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, format_date, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.catalog.catalog import DIARY_ACCESS
from portal.catalog.models import (
    DONE,
    IN_PROGRESS,
    OPEN,
    RECEIVED,
    REFUSED,
    SENT,
    UNDELIVERED,
    ApplicationEvent,
    ServiceApplication,
)
from portal.catalog.search import can_apply
from portal.extensions import db
from portal.family.models import Child
from portal.family.services import verified_children
from portal.federation.models import FederationMessage
from portal.federation.services import (
    RegionUnavailable,
    fetch_schools,
    handles,
    on_answer,
    on_give_up,
    send_to_diary,
)
from portal.identity import notifications
from portal.identity.models import Citizen
from portal.oidc.claims import child_identity
from portal.proofing.services import LevelTooLow
from portal.regions import Region, regions
from shared.crypto import unseal
from shared.errors import NotFound, ValidationError
from shared.federation import parse_day, parse_utc, utc_text
from shared.sessions import utcnow
from shared.validators import format_snils
from shared.workdays import term_end

SUBMITTED = "application.submitted"
STATUS = "application.status"
TERM_WORKING_DAYS = 3
# The diary counts the term from the day it received the application, in Moscow time.
TERM_TIMEZONE = ZoneInfo("Europe/Moscow")
REASON_LENGTH = 1000

# An older status never overwrites a newer one: a status moves only up this ladder. The
# two final ones share the top rung, so neither ever changes.
_RANK = {SENT: 0, UNDELIVERED: 0, RECEIVED: 1, IN_PROGRESS: 2, DONE: 3, REFUSED: 3}
# What the diary may report by message; "received" comes only as its answer.
_REPORTED = (IN_PROGRESS, DONE, REFUSED)

STATUS_LABELS = {
    SENT: _l("sent"),
    RECEIVED: _l("received by the school"),
    IN_PROGRESS: _l("being considered"),
    DONE: _l("done: access granted"),
    REFUSED: _l("refused"),
    UNDELIVERED: _l("not delivered"),
}

NOT_YOUR_CHILD = _l("Choose one of your children verified on the portal.")
NO_SUCH_REGION = _l("Choose a region from the list.")
NO_SUCH_SCHOOL = _l("Choose a school from the list.")


class DuplicateApplication(ValidationError):
    default_message = _l(
        "You already have an application for this child to this school: "
        "wait for the school's answer. It is in «My applications»."
    )


# --- choosing ------------------------------------------------------------------------


@dataclass
class Choices:
    """What the parent may choose from and what they chose so far; ``errors`` by field,
    ``unavailable`` when the region's diary did not give its list of schools."""

    children: list[Child]
    regions: list[Region]
    child: Child | None = None
    region: Region | None = None
    schools: list[dict[str, Any]] | None = None
    unavailable: str | None = None
    errors: dict[str, str] = field(default_factory=dict)


def application_choices(citizen: Citizen, child_id: str | None, region_code: str | None) -> Choices:
    """The children and regions to choose from and, once a region is chosen, its schools
    as the diary lists them now. Never fails on the parent's input: it is reported."""
    if not can_apply(citizen):
        raise LevelTooLow()
    choices = Choices(children=verified_children(citizen), regions=regions())
    if child_id:
        choices.child = next((c for c in choices.children if c.public_id == child_id), None)
        if choices.child is None:
            choices.errors["child"] = str(NOT_YOUR_CHILD)
    if region_code:
        choices.region = next((r for r in choices.regions if r.code == region_code), None)
        if choices.region is None:
            choices.errors["region"] = str(NO_SUCH_REGION)
    if choices.region is not None:
        try:
            choices.schools = fetch_schools(choices.region.code)
        except RegionUnavailable:
            choices.unavailable = _unavailable(choices.region)
    return choices


def _unavailable(region: Region) -> str:
    return gettext(
        "The list of schools of %(region)s is unavailable now: the region's diary does "
        "not answer. Try again later; what you chose is kept.",
        region=region.name,
    )


@dataclass(frozen=True)
class Review:
    """An application checked and ready to send."""

    child: Child
    region: Region
    school: dict[str, Any]


def review_application(
    citizen: Citizen, child_id: str | None, region_code: str | None, school_id: str | None
) -> Review:
    """Check every choice against the portal's and the diary's data now; raise the
    first problem (LevelTooLow, ValidationError, RegionUnavailable)."""
    if not can_apply(citizen):
        raise LevelTooLow()
    child = next((c for c in verified_children(citizen) if c.public_id == child_id), None)
    if child is None:
        raise ValidationError(NOT_YOUR_CHILD)
    region = next((r for r in regions() if r.code == region_code), None)
    if region is None:
        raise ValidationError(NO_SUCH_REGION)
    try:
        wanted = int(school_id or "")
    except ValueError:
        raise ValidationError(NO_SUCH_SCHOOL) from None
    try:
        schools = fetch_schools(region.code)
    except RegionUnavailable as error:
        raise RegionUnavailable(_unavailable(region)) from error
    school = next((s for s in schools if s["id"] == wanted), None)
    if school is None:
        raise ValidationError(NO_SUCH_SCHOOL)
    if _open_application(citizen, child, school["id"], region.code) is not None:
        raise DuplicateApplication()
    return Review(child=child, region=region, school=school)


def _open_application(
    citizen: Citizen, child: Child, school_id: int, region_code: str
) -> ServiceApplication | None:
    return db.session.execute(
        sa.select(ServiceApplication)
        .where(
            ServiceApplication.citizen_id == citizen.id,
            ServiceApplication.child_id == child.id,
            ServiceApplication.region_code == region_code,
            ServiceApplication.school_id == school_id,
            ServiceApplication.status.in_(OPEN),
        )
        .limit(1)
    ).scalar_one_or_none()


# --- submitting ----------------------------------------------------------------------


def submit_application(
    citizen: Citizen, child_id: str | None, region_code: str | None, school_id: str | None
) -> ServiceApplication:
    """Store the application and send it to the region's diary (committed together with
    the outbox message; the first attempt follows at once)."""
    review = review_application(citizen, child_id, region_code, school_id)
    now = utcnow()
    application = ServiceApplication(
        service=DIARY_ACCESS,
        citizen_id=citizen.id,
        child_id=review.child.id,
        region_code=review.region.code,
        region_name=review.region.name,
        client_id=review.region.client_id,
        school_id=review.school["id"],
        school_name=review.school["name"] or review.school["short_name"],
        status=SENT,
        created_at=now,
        updated_at=now,
    )
    application.events.append(ApplicationEvent(status=SENT, at=now))
    db.session.add(application)
    try:
        db.session.flush()
    except IntegrityError:
        # The same application sent twice at once: the other one stands.
        db.session.rollback()
        raise DuplicateApplication() from None
    # The citizen sees "sent" on the page; they are told of every change from here on.
    send_to_diary(
        SUBMITTED,
        review.region.client_id,
        key=application.public_id,
        data=_submitted_message(application, citizen, review.child),
    )
    # Committed: the next read sees what the first attempt (a job) recorded meanwhile.
    return application


def _submitted_message(
    application: ServiceApplication, citizen: Citizen, child: Child
) -> dict[str, Any]:
    """The message of the brief's ``application.submitted``. SNILS are decrypted only
    here, for the diary that matches them to its register by blind index."""
    return {
        "id": application.public_id,
        "service": application.service,
        "submitted_at": utc_text(application.created_at),
        "school_id": application.school_id,
        "applicant": {
            "sub": citizen.public_id,
            "family_name": citizen.surname,
            "given_name": citizen.given_name,
            "middle_name": citizen.patronymic,
            "snils": format_snils(unseal(citizen, "snils_encrypted")),
            "phone": citizen.phone if citizen.phone_verified_at else None,
            "email": citizen.email if citizen.email_verified_at else None,
        },
        "child": child_identity(child),
    }


# --- statuses ------------------------------------------------------------------------


def expected_deadline(received_at: datetime) -> date:
    """The last day of the term: 3 working days after the day the diary received the
    application (Moscow date), by the production calendar."""
    return term_end(received_at, TERM_WORKING_DAYS, TERM_TIMEZONE.key)


def _reason(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value.split())[:REASON_LENGTH] or None


def _locked(public_id: Any) -> ServiceApplication | None:
    if not isinstance(public_id, str) or len(public_id) > 36:
        return None
    return db.session.execute(
        sa.select(ServiceApplication)
        .where(ServiceApplication.public_id == public_id)
        .with_for_update()
    ).scalar_one_or_none()


def _advance(
    application: ServiceApplication, status: str, at: datetime, reason: str | None = None
) -> bool:
    """Move to ``status`` unless the application is already there, further, or final.
    Records the change and tells the citizen; the caller commits."""
    if _RANK[status] <= _RANK[application.status]:
        return False
    _change(application, status, at, reason)
    return True


def _change(
    application: ServiceApplication, status: str, at: datetime, reason: str | None = None
) -> None:
    application.status = status
    application.reason = reason if status == REFUSED else None
    application.updated_at = utcnow()
    application.events.append(ApplicationEvent(status=status, reason=reason, at=at))
    citizen = db.session.get(Citizen, application.citizen_id)
    child = db.session.get(Child, application.child_id)
    _tell(citizen, application, child)


@on_answer(SUBMITTED)
def diary_answered(message: FederationMessage, answer: dict[str, Any]) -> None:
    """The diary took the application: ``received`` with its term, or ``refused`` (an
    unknown school). A repeated message is answered with the current state. Runs in the
    delivery's transaction, which commits."""
    application = _locked(message.key)
    if application is None:
        return
    status = answer.get("status")
    if status in (RECEIVED, IN_PROGRESS, DONE):
        received_at = parse_utc(answer.get("received_at")) or utcnow()
        if application.received_at is None:
            application.received_at = received_at
            application.deadline = _deadline(application, answer.get("deadline"))
        _advance(application, RECEIVED, received_at)  # nothing when already further
        if status != RECEIVED:
            _advance(application, status, parse_utc(answer.get("at")) or utcnow())
    elif status == REFUSED:
        reason = _reason(answer.get("reason")) or gettext("The school refused the application.")
        _advance(application, REFUSED, parse_utc(answer.get("at")) or utcnow(), reason)
    else:
        current_app.logger.warning(
            "application %s: the diary answered an unknown status", application.id
        )


def _deadline(application: ServiceApplication, given: Any) -> date:
    expected = expected_deadline(application.received_at)
    deadline = parse_day(given) or expected
    if deadline != expected:
        # The school's term is what binds it; ours is only a cross-check.
        current_app.logger.warning(
            "application %s: the diary's deadline %s differs from %s",
            application.id,
            deadline,
            expected,
        )
    return deadline


@on_give_up(SUBMITTED)
def diary_unreachable(message: FederationMessage) -> None:
    """The diary could not be reached for the whole retry period: the citizen applies again."""
    application = _locked(message.key)
    if application is not None and application.status == SENT:
        _change(application, UNDELIVERED, utcnow())


@handles(STATUS)
def status_reported(client_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """``application.status`` from the diary the application was sent to: in progress,
    done or refused (with the school's reason). Idempotent; an older status never
    overwrites a newer one and a final one never changes."""
    application = _locked(data.get("id"))
    # Another region's diary learns nothing, not even that the application exists.
    if application is None or application.client_id != client_id:
        raise NotFound()
    status = data.get("status")
    if status not in _REPORTED:
        raise ValidationError(_l("Unknown status."))
    reason = _reason(data.get("reason"))
    if status == REFUSED and reason is None:
        raise ValidationError(_l("A refusal needs a reason."))
    at = parse_utc(data.get("at")) if data.get("at") is not None else utcnow()
    if at is None:
        raise ValidationError(_l("The time of the status is not ISO 8601."))
    _advance(application, status, at, reason)
    db.session.commit()
    return {"ok": True}


# --- telling the citizen ---------------------------------------------------------------


def deadline_text(deadline: date) -> str:
    return format_date(deadline, "dd.MM.yyyy")


def _tell(citizen: Citizen, application: ServiceApplication, child: Child) -> None:
    """SMS/e-mail on every status, in the citizen's language; no document numbers."""
    with force_locale(citizen.locale):
        names = {
            "number": application.number,
            "child": child.full_name,
            "school": application.school_name,
            "region": application.region_name,
        }
        texts = {
            RECEIVED: gettext(
                "The school has received application %(number)s (%(child)s, %(school)s).",
                **names,
            ),
            IN_PROGRESS: gettext(
                "The school is considering application %(number)s (%(child)s, %(school)s).",
                **names,
            ),
            DONE: gettext(
                "Application %(number)s is approved: sign in to the diary of %(region)s "
                "through the portal to see %(child)s.",
                **names,
            ),
            REFUSED: gettext(
                "The school refused application %(number)s (%(child)s, %(school)s): %(reason)s",
                reason=application.reason or "",
                **names,
            ),
            UNDELIVERED: gettext(
                "Application %(number)s could not be delivered to the diary of %(region)s. "
                "Please apply again.",
                **names,
            ),
        }
        body = texts[application.status]
        if application.status in (RECEIVED, IN_PROGRESS) and application.deadline:
            body += " " + gettext(
                "The decision is due by %(date)s.", date=deadline_text(application.deadline)
            )
        body += " " + gettext("Details are in your cabinet, «My applications».")
        notifications.tell_owner(citizen, gettext("Your application on the portal"), body)


# --- the cabinet ---------------------------------------------------------------------


def applications_of(citizen: Citizen) -> list[ServiceApplication]:
    """The citizen's own applications, newest first."""
    return list(
        db.session.execute(
            sa.select(ServiceApplication)
            .where(ServiceApplication.citizen_id == citizen.id)
            .options(selectinload(ServiceApplication.child))
            .order_by(ServiceApplication.created_at.desc(), ServiceApplication.id.desc())
        ).scalars()
    )


def diary_regions_by_child(citizen: Citizen) -> dict[int, dict[str, str]]:
    """Where the portal knows a child of the citizen studies: the regions whose diary the
    citizen applied to for the child (sent, being decided or done; not refused, not
    undelivered), as ``{child id: {region code: status}}``. The portal keeps no other
    record of schools; a child linked by the school's own SNILS match is not here."""
    known: dict[int, dict[str, str]] = {}
    for child_id, region_code, status in db.session.execute(
        sa.select(
            ServiceApplication.child_id, ServiceApplication.region_code, ServiceApplication.status
        )
        .where(
            ServiceApplication.citizen_id == citizen.id,
            ServiceApplication.status.in_([*OPEN, DONE]),
        )
        .order_by(ServiceApplication.created_at)
    ):
        regions_of_child = known.setdefault(child_id, {})
        if regions_of_child.get(region_code) != DONE:
            regions_of_child[region_code] = status
    return known


def application_of(citizen: Citizen, public_id: str) -> ServiceApplication:
    """One of the citizen's applications; anyone else's is "not found"."""
    application = db.session.execute(
        sa.select(ServiceApplication).where(
            ServiceApplication.public_id == public_id,
            ServiceApplication.citizen_id == citizen.id,
        )
    ).scalar_one_or_none()
    if application is None:
        raise NotFound()
    return application
