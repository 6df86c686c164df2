"""The portal's verified children: at every sign-in, each child whose SNILS (its keyed
hash) and birth date both match a student of the region is linked to the parent as legal
representative (source ``portal``), with the reason recorded; a child the portal no
longer lists is unlinked. Links the school made are never touched here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from diary_service.access import Viewer
from diary_service.extensions import db
from diary_service.family.codes import link_reason
from diary_service.models.auth import DiaryPerson, PortalChild
from diary_service.models.family import Guardian
from diary_service.models.school import Student


def follow_portal_children(person: DiaryPerson, now: datetime) -> None:
    """Bring the person's portal links in line with the children the portal verified at
    this sign-in (``person.children``, already refreshed): a child whose SNILS and birth
    date match a student links them as a parent; a portal link whose child is no longer
    listed (or no longer matches) is revoked. Idempotent: a link still justified stays
    as it is. A student the person is already linked to in another way gets no second
    link, and a link the school ended is not made again behind its back.

    Part of the sign-in's transaction: it writes, the caller commits.
    """
    matched: dict[int, PortalChild] = {}
    for child in person.children:
        child.student_id = None
        if not child.snils_index or child.birth_date is None:
            continue
        student_ids = db.session.execute(
            sa.select(Student.id)
            .where(
                Student.snils_index == child.snils_index,
                Student.birth_date == child.birth_date,
                sa.or_(Student.person_id.is_(None), Student.person_id != person.id),
            )
            .order_by(Student.id)
        ).scalars()
        for student_id in student_ids:
            child.student_id = child.student_id or student_id
            matched.setdefault(student_id, child)

    links = list(
        db.session.execute(sa.select(Guardian).where(Guardian.person_id == person.id)).scalars()
    )
    # A trusted person's link to the child is no reason not to make the parent's.
    parents = [link for link in links if link.kind == "parent"]
    linked = {link.student_id for link in parents if link.revoked_at is None}
    ended_by_school = {link.student_id for link in parents if link.revoked_by_id is not None}
    for link in links:
        if link.source == "portal" and link.revoked_at is None and link.student_id not in matched:
            link.revoked_at = now
    for student_id, child in matched.items():
        if student_id in linked or student_id in ended_by_school:
            continue
        reason = link_reason(
            _l(
                "verified by the portal: SNILS and birth date match (portal child %(id)s)",
                id=child.portal_id,
            )
        )
        db.session.add(
            Guardian(
                student_id=student_id,
                person_id=person.id,
                family_name=person.family_name,
                given_name=person.given_name,
                middle_name=person.middle_name,
                kind="parent",
                source="portal",
                reason=reason,
                created_at=now,
            )
        )


@dataclass
class UnlinkedChild:
    """A child the portal verified for the person whose diary they do not see.
    ``ended``: the child was found, but the school has ended the link."""

    child: PortalChild
    ended: bool


def unlinked_children(person: DiaryPerson, viewer: Viewer) -> list[UnlinkedChild]:
    """The person's portal children not among the students they see, in the portal's
    order: the ones the next step (a code, an application) is for."""
    return [
        UnlinkedChild(child=child, ended=child.student_id is not None)
        for child in person.children
        if child.student_id is None
        or child.student_id not in viewer.guardian_of | viewer.own_student_ids
    ]
