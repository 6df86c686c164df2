"""Entering a code: a parent's access code makes them the student's guardian (source
``code``), a staff invitation ties the staff record to them. A wrong, used, expired or
revoked code gets one and the same answer (``InvalidCode``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

import diary_service.clock as clock
from diary_service.extensions import db
from diary_service.family.codes import (
    ACCESS_CODE,
    STAFF_INVITATION,
    InvalidCode,
    code_hash,
    link_reason,
    normalize_code,
)
from diary_service.models.auth import DiaryPerson
from diary_service.models.family import AccessCode, Guardian, StaffInvitation
from diary_service.models.school import StaffMember, Student
from shared.errors import ValidationError
from shared.sessions import utcnow


@dataclass
class Redeemed:
    """What a code opened: a student's diary, or a staff record."""

    student: Student | None = None
    member: StaffMember | None = None


def redeem_code(text: str, person: DiaryPerson, key: str, today: date) -> Redeemed:
    """Use a code a signed-in person entered: an access code links them to its student
    in its parent place; a staff invitation ties its staff record to them. Either is
    used once. ``InvalidCode`` for any code that does not work, without saying why."""
    code = normalize_code(text)
    if code is None:
        raise InvalidCode()
    access = db.session.execute(
        sa.select(AccessCode).where(AccessCode.code_hash == code_hash(code, key, ACCESS_CODE))
    ).scalar_one_or_none()
    if access is not None:
        return Redeemed(student=_use_access_code(access, person, today))
    invitation = db.session.execute(
        sa.select(StaffInvitation).where(
            StaffInvitation.code_hash == code_hash(code, key, STAFF_INVITATION)
        )
    ).scalar_one_or_none()
    if invitation is not None:
        return Redeemed(member=_use_invitation(invitation, person, today))
    raise InvalidCode()


def _usable(code: AccessCode | StaffInvitation, today: date) -> bool:
    return code.used_at is None and code.revoked_at is None and code.expires_on >= today


def _use_access_code(access: AccessCode, person: DiaryPerson, today: date) -> Student:
    if not _usable(access, today):
        raise InvalidCode()
    student = access.student
    if student.person_id == person.id:
        raise ValidationError(_l("This code is for a parent of the student, not the student."))
    links = db.session.execute(
        sa.select(Guardian).where(Guardian.student_id == student.id, Guardian.revoked_at.is_(None))
    ).scalars()
    for link in links:
        if link.person_id == person.id and link.kind == "parent":
            raise ValidationError(
                _l("You already see this student's diary. The code stays unused.")
            )
        if link.slot == access.slot:
            raise ValidationError(
                _l(
                    "Another parent has already taken this place with a code. "
                    "Ask the class teacher."
                )
            )
    now = utcnow()
    # Claimed in one statement: of two people entering the same code at once, one wins.
    claimed = db.session.execute(
        sa.update(AccessCode)
        .where(
            AccessCode.id == access.id,
            AccessCode.used_at.is_(None),
            AccessCode.revoked_at.is_(None),
        )
        .values(used_at=now, used_by_id=person.id)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise InvalidCode()
    issuer = access.issued_by
    issued_on = clock.day_of(access.created_at).strftime("%d.%m.%Y")
    reason = link_reason(
        _l("one-time code issued by %(staff)s on %(date)s", staff=issuer.short_name, date=issued_on)
        if issuer is not None
        else _l("one-time code issued by the school on %(date)s", date=issued_on)
    )
    db.session.add(
        Guardian(
            student_id=student.id,
            person_id=person.id,
            family_name=person.family_name,
            given_name=person.given_name,
            middle_name=person.middle_name,
            kind="parent",
            source="code",
            slot=access.slot,
            reason=reason,
            created_by_id=access.issued_by_id,
            created_at=now,
        )
    )
    db.session.commit()
    return student


def _use_invitation(invitation: StaffInvitation, person: DiaryPerson, today: date) -> StaffMember:
    member = invitation.staff
    if not _usable(invitation, today) or not member.active:
        raise InvalidCode()
    if member.person_id == person.id:
        raise ValidationError(_l("You already hold this staff record. The code stays unused."))
    if member.person_id is not None:
        raise InvalidCode()
    held_here = db.session.execute(
        sa.select(StaffMember.id).where(
            StaffMember.person_id == person.id,
            StaffMember.school_id == member.school_id,
            StaffMember.active.is_(True),
        )
    ).first()
    if held_here is not None:
        raise ValidationError(
            _l("You already work at this school in the diary. The code stays unused.")
        )
    now = utcnow()
    claimed = db.session.execute(
        sa.update(StaffInvitation)
        .where(
            StaffInvitation.id == invitation.id,
            StaffInvitation.used_at.is_(None),
            StaffInvitation.revoked_at.is_(None),
        )
        .values(used_at=now, used_by_id=person.id)
    ).rowcount
    taken = db.session.execute(
        sa.update(StaffMember)
        .where(StaffMember.id == member.id, StaffMember.person_id.is_(None))
        .values(person_id=person.id)
    ).rowcount
    if claimed != 1 or taken != 1:
        db.session.rollback()
        raise InvalidCode()
    db.session.commit()
    db.session.refresh(member)
    return member
