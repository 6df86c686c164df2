"""Staff invitations: a one-time code that ties a staff record the diary could not match
by SNILS to whoever enters it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from diary_service.extensions import db
from diary_service.family.codes import (
    STAFF_INVITATION,
    check_expiry,
    code_hash,
    format_code,
    new_code,
)
from diary_service.models.family import StaffInvitation
from diary_service.models.school import StaffMember
from shared.errors import ValidationError
from shared.sessions import utcnow


@dataclass
class StaffRow:
    member: StaffMember
    pending: StaffInvitation | None


def staff_invitations(school_id: int) -> list[StaffRow]:
    """The school's active staff by name, with the invitation waiting for each."""
    members = list(
        db.session.execute(
            sa.select(StaffMember)
            .where(StaffMember.school_id == school_id, StaffMember.active.is_(True))
            .order_by(StaffMember.family_name, StaffMember.given_name, StaffMember.id)
        ).scalars()
    )
    pending = {
        invitation.staff_id: invitation
        for invitation in db.session.execute(
            sa.select(StaffInvitation)
            .where(
                StaffInvitation.staff_id.in_([m.id for m in members]),
                StaffInvitation.used_at.is_(None),
                StaffInvitation.revoked_at.is_(None),
            )
            .order_by(StaffInvitation.created_at, StaffInvitation.id)
        ).scalars()
    }
    return [StaffRow(member=m, pending=pending.get(m.id)) for m in members]


@dataclass
class IssuedInvitation:
    member: StaffMember
    code: str  # formatted
    expires_on: date


def issue_invitation(
    member: StaffMember,
    expires_on: date,
    issued_by_id: int | None,
    key: str,
    today: date,
) -> IssuedInvitation:
    """A one-time code that ties the staff record to whoever enters it; the record's
    earlier unused invitation stops working. Only for an active record nobody holds."""
    check_expiry(expires_on, today)
    if not member.active:
        raise ValidationError(_l("The staff member is deactivated."))
    if member.person_id is not None:
        raise ValidationError(_l("The staff member already uses the diary."))
    now = utcnow()
    db.session.execute(
        sa.update(StaffInvitation)
        .where(
            StaffInvitation.staff_id == member.id,
            StaffInvitation.used_at.is_(None),
            StaffInvitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    code = new_code()
    db.session.add(
        StaffInvitation(
            staff_id=member.id,
            code_hash=code_hash(code, key, STAFF_INVITATION),
            issued_by_id=issued_by_id,
            created_at=now,
            expires_on=expires_on,
        )
    )
    db.session.commit()
    return IssuedInvitation(member=member, code=format_code(code), expires_on=expires_on)
