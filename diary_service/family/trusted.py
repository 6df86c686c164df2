"""Trusted persons (issue 6, way 4): a parent grants another adult, on the portal,
read-only access to parts of one child's diary; the portal carries the grants to the
diary in the ``trusted`` claim at the trusted person's sign-in, and tells every region
when a grant is revoked (the federation event ``trusted.revoked``).

- At each sign-in, every grant whose child (the keyed hash of their SNILS and the birth
  date, both) is a student of the region becomes a guardian link of kind ``trusted``
  (source ``trusted``) carrying the grant's id, its sections, the moment it opens and its
  last day; a link already made for the grant is brought up to date; a trusted link whose
  grant the portal no longer lists is revoked. The claim lists grants not open yet too:
  ``diary_service.access`` opens and closes them on time by itself.
- The portal's revocation revokes every live link of the grant at once; the next request
  of the trusted person no longer shows the child.

What a trusted person may see is ``diary_service.access``'s: only the granted sections,
and nothing of what belongs to the parents as legal representatives.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from diary_service.access import SECTIONS, children_of_parent
from diary_service.auth.services import claim_text, snils_index_of
from diary_service.extensions import db
from diary_service.models.auth import DiaryPerson
from diary_service.models.family import Application, Guardian
from diary_service.models.school import Student
from shared.errors import ValidationError
from shared.federation import parse_day, parse_utc
from shared.i18n import DEFAULT_LANGUAGE


@dataclass(frozen=True)
class TrustedGrant:
    """One entry of the ``trusted`` claim as the diary keeps it: the grant's id, the
    child's SNILS as the diary's blind index (never the number) and birth date, the known
    sections granted, when access opens (naive UTC) and its last day (None: no end)."""

    grant_id: str
    child_portal_id: str | None  # the portal's id of the child
    granted_by: str | None  # the granting parent's portal subject
    given_name: str | None  # the child's, as the civil registry confirmed it
    snils_index: str
    birth_date: date
    sections: tuple[str, ...]
    opens_at: datetime
    valid_until: date | None

    def __repr__(self) -> str:  # the blind index identifies a child: not in logs
        return f"<TrustedGrant {self.grant_id}>"


def grant_id_of(value: object) -> str | None:
    """A grant id as the portal writes it (a UUID), in its canonical form; None otherwise."""
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def trusted_grants(claims: dict[str, Any], index_key: str) -> list[TrustedGrant]:
    """The ``trusted`` claim reduced to what the diary keeps of each grant (the child's
    SNILS only as its blind index). Sections the diary does not know are dropped, never
    trusted; an entry is skipped whole when its grant id, SNILS, birth date or opening
    moment is missing or malformed, when no known section is left, or when its last day
    is given but unreadable (never read as "no end")."""
    entries = claims.get("trusted")
    if not isinstance(entries, list):
        return []
    grants = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        raw = entry.get("sections")
        granted = set(raw) & set(SECTIONS) if isinstance(raw, list) else set()
        grant_id = grant_id_of(entry.get("grant"))
        index = snils_index_of(entry.get("snils"), index_key)
        birth_date = parse_day(entry.get("birthdate"))
        opens_at = parse_utc(entry.get("opens_at"))
        until = entry.get("until")
        valid_until = parse_day(until)
        if not (grant_id and index and birth_date and opens_at and granted):
            continue
        if until is not None and valid_until is None:
            continue
        grants.append(
            TrustedGrant(
                grant_id=grant_id,
                child_portal_id=claim_text(entry, "id", 64),
                granted_by=claim_text(entry, "granted_by", 64),
                given_name=claim_text(entry, "given_name"),
                snils_index=index,
                birth_date=birth_date,
                sections=tuple(section for section in SECTIONS if section in granted),
                opens_at=opens_at,
                valid_until=valid_until,
            )
        )
    return grants


def _reason(grant_id: str) -> str:
    # In the region's language, as the school's records keep every link's reason.
    with force_locale(DEFAULT_LANGUAGE):
        return str(_l("trusted person: access granted on the portal (grant %(id)s)", id=grant_id))[
            :300
        ]


def _matching_students(grant: TrustedGrant, person: DiaryPerson) -> list[int]:
    """The students the grant's child is: by SNILS and birth date; or, where the register
    has no SNILS for them, from what the school itself verified: the student an
    administrator matched to this portal child when approving a parent's application,
    or a student the granting parent is a parent of here (linked by a code or by the
    school) with the child's birth date and given name."""
    same_child = Student.snils_index == grant.snils_index
    if grant.child_portal_id:
        by_application = sa.select(Application.student_id).where(
            Application.child_portal_id == grant.child_portal_id,
            Application.status == "done",
            Application.student_id.is_not(None),
        )
        same_child = same_child | Student.id.in_(by_application)
    if grant.granted_by and grant.given_name:
        of_granter = (
            sa.select(Guardian.student_id)
            .join(DiaryPerson, DiaryPerson.id == Guardian.person_id)
            .where(
                DiaryPerson.sub == grant.granted_by,
                Guardian.kind == "parent",
                Guardian.revoked_at.is_(None),
            )
        )
        same_child = same_child | (
            Student.id.in_(of_granter) & (Student.given_name == grant.given_name)
        )
    return list(
        db.session.execute(
            sa.select(Student.id)
            .where(
                same_child,
                Student.birth_date == grant.birth_date,
                sa.or_(Student.person_id.is_(None), Student.person_id != person.id),
            )
            .order_by(Student.id)
        ).scalars()
    )


def follow_trusted_grants(
    person: DiaryPerson, grants: Iterable[TrustedGrant], now: datetime
) -> None:
    """Bring the person's trusted links in line with the grants the portal lists at this
    sign-in: a grant whose child is a student here links them (or updates the link made
    for it before: sections, opening, last day); a live trusted link whose grant is no
    longer listed is revoked. A student the person is a parent of gets no trusted link
    (a parent sees everything already), and a link the school ended is not made again.

    Part of the sign-in's transaction: it writes, the caller commits.
    """
    links = list(
        db.session.execute(
            sa.select(Guardian).where(Guardian.person_id == person.id, Guardian.kind == "trusted")
        ).scalars()
    )
    live = {(link.grant_id, link.student_id): link for link in links if link.revoked_at is None}
    ended_by_school = {
        (link.grant_id, link.student_id) for link in links if link.revoked_by_id is not None
    }
    parent_of = children_of_parent(person.id)
    wanted: set[tuple[str, int]] = set()
    for grant in grants:
        for student_id in _matching_students(grant, person):
            key = (grant.grant_id, student_id)
            if student_id in parent_of or key in ended_by_school:
                continue
            wanted.add(key)
            link = live.get(key)
            if link is None:
                link = Guardian(
                    student_id=student_id,
                    person_id=person.id,
                    kind="trusted",
                    source="trusted",
                    grant_id=grant.grant_id,
                    reason=_reason(grant.grant_id),
                    created_at=now,
                )
                db.session.add(link)
                live[key] = link
            link.family_name = person.family_name
            link.given_name = person.given_name
            link.middle_name = person.middle_name
            link.sections = list(grant.sections)
            link.opens_at = grant.opens_at
            link.valid_until = grant.valid_until
    for key, link in live.items():
        if key not in wanted:
            link.revoked_at = now


def revoke_grant(grant_id: object, now: datetime) -> int:
    """The portal revoked the grant (the parent did, or the grant ended with the
    parent's link to the child): revoke every live link made for it; return how many.
    Idempotent: the same revocation again revokes nothing more."""
    canonical = grant_id_of(grant_id)
    if canonical is None:
        raise ValidationError(_l("The grant id is not valid."))
    revoked = db.session.execute(
        sa.update(Guardian)
        .where(
            Guardian.grant_id == canonical,
            Guardian.kind == "trusted",
            Guardian.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    ).rowcount
    db.session.commit()
    return revoked
