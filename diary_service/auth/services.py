"""Rules of signing in to the diary: who a portal identity is here, and which diary
sessions a portal logout ends. The protocol itself (tokens, signatures, the portal's
endpoints) is ``diary_service.auth.oidc``; this module sees only its verified results."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from diary_service.extensions import db
from diary_service.models import diary_session
from diary_service.models.auth import DiaryPerson, PortalChild, PortalSession
from diary_service.models.family import Guardian
from diary_service.models.school import StaffMember, Student
from diary_service.signals import person_signed_in
from shared.federation import parse_day
from shared.sessions import utcnow
from shared.validators import normalize_snils

# ``acr`` values of the portal's account levels (its discovery document lists them).
ACR_PREFIX = "urn:gosdiary:acr:"
LEVELS = ("simplified", "standard", "confirmed")


@dataclass(frozen=True)
class PortalIdentity:
    """What the portal vouched for at one sign-in: the verified ID token's ``sub``,
    ``sid``, ``acr`` and ``auth_time``, and the userinfo claims released with it."""

    sub: str
    acr: str
    sid: str | None = None
    auth_time: int | None = None
    claims: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # the claims hold a SNILS and children's names
        return f"<PortalIdentity {self.sub}>"


def level_of(acr: str | None) -> str | None:
    """The portal's account level an ``acr`` names (``"standard"``), or None."""
    if not acr or not acr.startswith(ACR_PREFIX):
        return None
    level = acr.removeprefix(ACR_PREFIX)
    return level if level in LEVELS else None


def snils_index(snils: str, key: str) -> str:
    """The blind index of a SNILS: HMAC-SHA256 under the diary's own key of the 11 digits,
    scoped to the field, so "112-233-445 95" and "11223344595" index alike and the number
    itself is never stored. Raises ``ValueError`` for a malformed number."""
    digits = normalize_snils(snils)
    return hmac.new(key.encode(), f"snils:{digits}".encode(), hashlib.sha256).hexdigest()


def claim_text(claims: dict[str, Any], name: str, limit: int = 100) -> str | None:
    """A string claim, trimmed to the column's size; None when absent, empty or not text."""
    value = claims.get(name)
    if not isinstance(value, str):
        return None
    return value.strip()[:limit] or None


def _children(claims: dict[str, Any], index_key: str) -> list[dict[str, Any]]:
    """The ``kids`` claim reduced to what the diary keeps: the portal's id, the name,
    the birth date and the SNILS's blind index (never the SNILS). Entries without an id
    are skipped; repeated ids count once; a malformed SNILS or birth date is not kept."""
    kids = claims.get("kids")
    if not isinstance(kids, list):
        return []
    children: dict[str, dict[str, Any]] = {}
    for kid in kids:
        if not isinstance(kid, dict) or not isinstance(kid.get("id"), str) or not kid["id"]:
            continue
        children.setdefault(
            kid["id"][:64],
            {
                "family_name": claim_text(kid, "family_name") or "",
                "given_name": claim_text(kid, "given_name") or "",
                "middle_name": claim_text(kid, "middle_name"),
                "snils_index": snils_index_of(kid.get("snils"), index_key),
                "birth_date": parse_day(kid.get("birthdate")),
            },
        )
    return [{"portal_id": key, **value} for key, value in children.items()]


def snils_index_of(snils: Any, index_key: str) -> str | None:
    if not isinstance(snils, str):
        return None
    try:
        return snils_index(snils, index_key)
    except ValueError:
        return None  # the portal checked it; a malformed copy is not kept


def record_sign_in(
    identity: PortalIdentity, *, index_key: str, forget_sessions_before: datetime
) -> DiaryPerson:
    """Create or update the person the portal identified, as the portal describes them
    now: names, the SNILS blind index and the verified children are replaced (a child
    removed on the portal disappears here; a SNILS no longer released is forgotten), and
    the portal session is remembered for back-channel logout. The records made with
    their SNILS are tied to them, and their verified children found in the student
    register are linked to them (a child no longer verified is unlinked), and so are
    the children whose diary a parent granted them as a trusted person (the ``trusted``
    claim; a grant no longer listed is revoked).

    ``forget_sessions_before``: the person's remembered portal sessions older than this
    cannot have a live diary session any more and are dropped.
    """
    try:
        return _record_sign_in(identity, index_key, forget_sessions_before)
    except IntegrityError:
        # The same person signing in at the same moment elsewhere (another tab, another
        # server) created the row first: do it again over theirs.
        db.session.rollback()
        return _record_sign_in(identity, index_key, forget_sessions_before)


def _record_sign_in(
    identity: PortalIdentity, index_key: str, forget_sessions_before: datetime
) -> DiaryPerson:
    person = db.session.execute(
        sa.select(DiaryPerson).where(DiaryPerson.sub == identity.sub)
    ).scalar_one_or_none()
    if person is None:
        person = DiaryPerson(sub=identity.sub)
        db.session.add(person)
    claims = identity.claims
    person.family_name = claim_text(claims, "family_name") or ""
    person.given_name = claim_text(claims, "given_name") or ""
    person.middle_name = claim_text(claims, "middle_name")
    person.snils_index = snils_index_of(claims.get("snils"), index_key)
    person.email = claim_text(claims, "email", 254) if claims.get("email_verified") else None
    person.phone = (
        claim_text(claims, "phone_number", 20) if claims.get("phone_number_verified") else None
    )
    person.acr = identity.acr[:100]
    person.signed_in_at = utcnow()

    wanted = {
        child["portal_id"]: (position, child)
        for position, child in enumerate(_children(claims, index_key))
    }
    for child in list(person.children):
        if child.portal_id not in wanted:
            person.children.remove(child)
    known = {child.portal_id: child for child in person.children}
    for portal_id, (position, values) in wanted.items():
        child = known.get(portal_id) or PortalChild(portal_id=portal_id)
        child.family_name = values["family_name"]
        child.given_name = values["given_name"]
        child.middle_name = values["middle_name"]
        child.snils_index = values["snils_index"]
        child.birth_date = values["birth_date"]
        child.position = position
        if portal_id not in known:
            person.children.append(child)
    db.session.flush()  # a new person gets its id

    db.session.execute(
        sa.delete(PortalSession).where(
            PortalSession.person_id == person.id,
            PortalSession.created_at < forget_sessions_before,
        )
    )
    if (
        identity.sid
        and not db.session.execute(
            sa.select(PortalSession.id).where(
                PortalSession.person_id == person.id, PortalSession.sid == identity.sid[:64]
            )
        ).first()
    ):
        db.session.add(PortalSession(person_id=person.id, sid=identity.sid[:64]))
    link_records(person)
    # The family's links follow the claims in this transaction: the verified children
    # found in the student register, then the trusted grants (diary_service.family.signin).
    person_signed_in.send(
        current_app._get_current_object(),
        person=person,
        claims=claims,
        index_key=index_key,
        now=utcnow(),
    )
    db.session.commit()
    return person


def link_records(person: DiaryPerson) -> None:
    """Tie the region's records that carry the person's verified SNILS (its keyed hash)
    to them: their staff records, their own student record, and the guardian links the
    school made for them before their first sign-in. Only records nobody holds yet are
    taken; a record already tied to another person stays theirs."""
    if not person.snils_index:
        return
    for model in (StaffMember, Student, Guardian):
        db.session.execute(
            sa.update(model)
            .where(model.snils_index == person.snils_index, model.person_id.is_(None))
            .values(person_id=person.id)
        )


def end_portal_session(*, sid: str | None, sub: str | None) -> int:
    """End the diary sessions a portal logout names (OpenID Connect Back-Channel Logout
    §2.7): with a ``sid``, those started from that portal session (of that person when a
    ``sub`` comes too); with only a ``sub``, every session of that person. Returns how
    many diary sessions ended; none is not an error (§2.6: the RP may have none left)."""
    if not sid and not sub:
        raise ValueError("a logout names a sid, a sub or both")
    people = sa.select(DiaryPerson.id)
    if sub:
        people = people.where(DiaryPerson.sub == sub)
    if sid:
        people = people.where(
            DiaryPerson.id.in_(sa.select(PortalSession.person_id).where(PortalSession.sid == sid))
        )
    person_ids = list(db.session.execute(people).scalars())
    if not person_ids:
        return 0
    rows = db.session.execute(
        sa.select(diary_session.c.id_hash, diary_session.c.data).where(
            diary_session.c.user_id.in_(person_ids)
        )
    ).all()
    doomed = [row.id_hash for row in rows if not sid or _portal_sid(row.data) == sid]
    if doomed:
        db.session.execute(sa.delete(diary_session).where(diary_session.c.id_hash.in_(doomed)))
    forget = sa.delete(PortalSession).where(PortalSession.person_id.in_(person_ids))
    if sid:
        forget = forget.where(PortalSession.sid == sid)
    db.session.execute(forget)
    db.session.commit()
    return len(doomed)


def _portal_sid(data: str) -> str | None:
    try:
        value = json.loads(data).get("portal_sid")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def get_person(person_id: int) -> DiaryPerson | None:
    return db.session.get(DiaryPerson, person_id)
