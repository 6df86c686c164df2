"""The guardians a school records for its students (links it makes and ends itself; the
family's own links are diary_service.family's)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

import diary_service.clock as clock
from diary_service.extensions import db
from diary_service.models.family import Guardian
from diary_service.models.school import Student
from diary_service.school.base import (
    clean_text,
    commit,
    get,
    index_of_snils,
    invalid,
    person_with_snils,
)
from shared.sessions import utcnow


def guardians_of(
    student_id: int, until: date | None = None
) -> tuple[list[Guardian], list[Guardian]]:
    """The student's guardian links: current ones, then revoked ones; with ``until``
    (the day a former school's time with the student ended), as they stood then."""
    query = sa.select(Guardian).where(Guardian.student_id == student_id)
    end = clock.start_of(until) if until is not None else None  # the region's midnight, in UTC
    if end is not None:
        query = query.where(Guardian.created_at < end)
    links = list(
        db.session.execute(query.order_by(Guardian.created_at.desc(), Guardian.id.desc())).scalars()
    )

    def revoked(link: Guardian) -> bool:
        return link.revoked_at is not None and (end is None or link.revoked_at < end)

    return (
        [link for link in links if not revoked(link)],
        [link for link in links if revoked(link)],
    )


def link_guardian(
    student_id: int,
    family_name: str,
    given_name: str,
    middle_name: str | None,
    snils: str,
    reason: str,
    created_by_id: int | None = None,
) -> Guardian:
    """The school links a parent to a student, naming them by SNILS (its blind index);
    the link opens the diary to the parent at once if they have signed in before, else
    at their first sign-in."""
    student = get(Student, student_id)
    index = index_of_snils(snils)
    if student.snils_index == index:
        raise invalid("snils", _l("This is the student's own SNILS."))
    current, _revoked = guardians_of(student.id)
    person = person_with_snils(index)
    for link in current:
        if link.kind != "parent":  # a trusted person may also be made a parent
            continue
        if link.snils_index == index or (person is not None and link.person_id == person.id):
            raise invalid("snils", _l("This parent is already linked to the student."))
    guardian = Guardian(
        student_id=student.id,
        person_id=person.id if person else None,
        snils_index=index,
        family_name=clean_text(family_name),
        given_name=clean_text(given_name),
        middle_name=clean_text(middle_name) or None,
        kind="parent",
        source="school",
        reason=clean_text(reason),
        created_by_id=created_by_id,
    )
    db.session.add(guardian)
    commit()
    return guardian


def revoke_guardian(guardian_id: int, revoked_by_id: int | None = None) -> Guardian:
    guardian = get(Guardian, guardian_id)
    if guardian.revoked_at is not None:
        raise invalid("", _l("The link has already been revoked."))
    guardian.revoked_at = utcnow()
    guardian.revoked_by_id = revoked_by_id
    commit()
    return guardian
