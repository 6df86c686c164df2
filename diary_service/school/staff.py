"""A school's staff: its members, their roles (a school keeps at least one
administrator) and whether they are active."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from diary_service.extensions import db
from diary_service.models.school import (
    StaffMember,
    StaffRole,
)
from diary_service.school.base import (
    SCHOOL_ROLES,
    TEACHING_ROLES,
    clean_text,
    commit,
    get,
    get_school,
    index_of_snils,
    invalid,
    person_with_snils,
)


def staff_of(school_id: int) -> list[StaffMember]:
    """The school's staff, active first, by name."""
    return list(
        db.session.execute(
            sa.select(StaffMember)
            .where(StaffMember.school_id == school_id)
            .order_by(StaffMember.active.desc(), StaffMember.family_name, StaffMember.given_name)
        ).scalars()
    )


def teachers_of(school_id: int) -> list[StaffMember]:
    """Active staff who teach (teacher or class teacher)."""
    return list(
        db.session.execute(
            sa.select(StaffMember)
            .where(
                StaffMember.school_id == school_id,
                StaffMember.active.is_(True),
                StaffMember.id.in_(
                    sa.select(StaffRole.staff_id).where(StaffRole.role.in_(TEACHING_ROLES))
                ),
            )
            .order_by(StaffMember.family_name, StaffMember.given_name)
        ).scalars()
    )


def teacher_of(school_id: int, staff_id: int | None, field: str) -> StaffMember:
    member = db.session.get(StaffMember, staff_id) if staff_id else None
    if (
        member is None
        or member.school_id != school_id
        or not member.active
        or not member.role_names & set(TEACHING_ROLES)
    ):
        raise invalid(field, _l("Choose a teacher of this school."))
    return member


def _check_roles(school_id: int | None, roles: Iterable[str]) -> list[str]:
    allowed = SCHOOL_ROLES if school_id is not None else ("department",)
    chosen = [role for role in allowed if role in set(roles)]
    if not chosen or set(roles) - set(allowed):
        raise invalid("roles", _l("Choose at least one role."))
    return chosen


def add_staff(
    school_id: int | None,
    family_name: str,
    given_name: str,
    middle_name: str | None,
    snils: str,
    roles: Iterable[str],
    position: str = "",
) -> StaffMember:
    """A staff member of a school (``school_id`` None: of the region's education
    department), known by the blind index of their SNILS; already linked to their diary
    account if they have signed in before."""
    if school_id is not None:
        get_school(school_id)
    roles = _check_roles(school_id, roles)
    index = index_of_snils(snils)
    same = db.session.execute(
        sa.select(StaffMember.id).where(
            StaffMember.snils_index == index,
            StaffMember.school_id.is_(None)
            if school_id is None
            else StaffMember.school_id == school_id,
        )
    ).first()
    if same:
        raise invalid("snils", _l("A staff member with this SNILS is already on the list."))
    person = person_with_snils(index)
    member = StaffMember(
        school_id=school_id,
        family_name=clean_text(family_name),
        given_name=clean_text(given_name),
        middle_name=clean_text(middle_name) or None,
        snils_index=index,
        person_id=person.id if person else None,
        position=clean_text(position),
        active=True,
    )
    member.roles = [StaffRole(role=role) for role in roles]
    db.session.add(member)
    commit()
    return member


def _other_admins(member: StaffMember) -> int:
    return db.session.execute(
        sa.select(sa.func.count(StaffMember.id)).where(
            StaffMember.school_id == member.school_id,
            StaffMember.active.is_(True),
            StaffMember.id != member.id,
            StaffMember.id.in_(
                sa.select(StaffRole.staff_id).where(StaffRole.role == "school_admin")
            ),
        )
    ).scalar_one()


def set_roles(staff_id: int, roles: Iterable[str]) -> StaffMember:
    member = get(StaffMember, staff_id)
    chosen = _check_roles(member.school_id, roles)
    if (
        "school_admin" in member.role_names
        and "school_admin" not in chosen
        and member.active
        and not _other_admins(member)
    ):
        raise invalid("roles", _l("The school must keep at least one administrator."))
    keep = {role.role: role for role in member.roles}
    member.roles = [keep.get(role) or StaffRole(role=role) for role in chosen]
    commit()
    return member


def set_active(staff_id: int, active: bool) -> StaffMember:
    """Deactivate (they lose access at once, their records stay) or bring back."""
    member = get(StaffMember, staff_id)
    if not active and "school_admin" in member.role_names and not _other_admins(member):
        raise invalid("", _l("The school must keep at least one administrator."))
    member.active = active
    commit()
    return member
