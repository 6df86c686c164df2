"""Trusted persons: a parent gives a relative or a nanny access to one child's diary.

The parent must have a *verified* link to the child (ЗАГС and СФР confirmed it) and a
standard account. The invitee is found by their verified SNILS, or by their confirmed
mobile phone plus surname, and must have a standard account of their own (the
``trusted`` scope that carries the grant to the diary needs one). The invitee accepts or
declines in their cabinet; access opens ``TRUSTED_ACCESS_DELAY`` seconds after
acceptance and lasts until the chosen date (inclusive) or until revoked.

Who may revoke: the granting parent, and also any other parent with a verified link to
the same child. Both parents have equal rights (Family Code of the RF, art. 61), and a
parent who finds a stranger in their child's diary must be able to end it at once
without asking the other one. Revoking is the only thing the other parent can do with
a grant they did not make.

A grant whose parent loses the link to the child ends with it (``revoke_grants_of``);
the ``trusted`` claim also checks the link on every release, so a grant never outlives
the link even before that runs.

A search that finds nobody says only that: it does not tell an unknown SNILS from a
simplified account or from a phone whose owner has another surname.

What the parent, the invitee and the ``trusted`` claim see of the grants is in
``trusted_queries.py``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, format_timedelta, gettext
from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.family.models import Child, ParentLink, TrustedGrant
from portal.identity import notifications
from portal.identity.models import Citizen
from portal.identity.services import Origin, record_event
from portal.proofing.services import LevelTooLow, is_at_least, latest_check
from portal.signals import trusted_access_ended
from shared import validators
from shared.crypto import pii
from shared.errors import NotFound, ValidationError
from shared.i18n import local_today
from shared.sessions import utcnow

# The diary's sections, in the diary's words and order.
SECTIONS = ("schedule", "homework", "marks", "attendance", "remarks", "messages")
PRESETS = {
    "schedule_homework": ["schedule", "homework"],
    "no_messages": ["schedule", "homework", "marks", "attendance", "remarks"],
    "everything": list(SECTIONS),
}
SECTION_NAMES = {
    "schedule": _l("schedule"),
    "homework": _l("homework"),
    "marks": _l("marks"),
    "attendance": _l("attendance"),
    "remarks": _l("teachers' remarks"),
    "messages": _l("messages"),
}

# What a grant is now, for the people who see it.
WAITING, DECLINED, OPENS, ACTIVE, EXPIRED, REVOKED = (
    "waiting",
    "declined",
    "opens",
    "active",
    "expired",
    "revoked",
)

# How long an invitation waits for the invitee's answer.
INVITATION_LIFETIME = timedelta(days=30)

# Why a grant was revoked.
BY_PARENT, LINK_REMOVED, BY_TRUSTED_PERSON = "parent", "link_removed", "trusted_person"


SNILS_ERRORS = {
    "snils_format": _l("Enter the SNILS as 11 digits: 123-456-789 01."),
    "snils_checksum": _l("The SNILS has a wrong check number. Check the digits."),
}


class TrustedError(ValidationError):
    """A refused grant; ``field`` names the form field the message belongs to."""

    field = ""


class NobodyFound(TrustedError):
    field = "lookup"
    default_message = _l(
        "Nobody with a standard account was found by these data. Check them; the person "
        "needs their own standard account on the portal (SNILS and passport verified)."
    )


class LookupIncomplete(TrustedError):
    field = "lookup"
    default_message = _l("Enter the person's SNILS, or their mobile phone and surname.")


class BadUntil(TrustedError):
    field = "until"
    default_message = _l("The end date of the access must be in the future.")


class NoSections(TrustedError):
    field = "preset"
    default_message = _l("Choose what the person will see.")


class GrantClosed(ValidationError):
    default_message = _l("This invitation is no longer waiting for an answer.")


class AccessEnded(ValidationError):
    default_message = _l("This access has already ended.")


def today() -> date:
    """The date in the portal's time zone (Moscow): ``until`` is a calendar day there."""
    return local_today()


def status_of(grant: TrustedGrant, now: datetime | None = None) -> str:
    """``waiting`` (for the invitee's answer), ``declined``, ``opens`` (accepted, not open
    yet), ``active``, ``expired`` (past ``until``, or an invitation unanswered for
    ``INVITATION_LIFETIME``) or ``revoked``."""
    now = now or utcnow()
    if grant.revoked_at is not None:
        return REVOKED
    if grant.declined_at is not None:
        return DECLINED
    if grant.until is not None and grant.until < today():
        return EXPIRED
    if grant.accepted_at is None:
        # An invitation nobody answers does not wait for ever: the parent invites again.
        return EXPIRED if grant.created_at + INVITATION_LIFETIME < now else WAITING
    if grant.opens_at is not None and grant.opens_at > now:
        return OPENS
    return ACTIVE


def _is_open(grant: TrustedGrant) -> bool:
    return status_of(grant) in (WAITING, OPENS, ACTIVE)


def verified_link(parent_id: int, child_id: int) -> ParentLink | None:
    """The parent's link to the child if ЗАГС and СФР confirmed it, else None."""
    return db.session.execute(
        sa.select(ParentLink)
        .join(Child, Child.id == ParentLink.child_id)
        .where(
            ParentLink.parent_id == parent_id,
            ParentLink.child_id == child_id,
            ParentLink.relation_verified_at.is_not(None),
            Child.snils_verified_at.is_not(None),
        )
    ).scalar_one_or_none()


def _fold(name: str | None) -> str:
    """A surname as people type it: case, spacing and ё/е do not matter."""
    return " ".join((name or "").split()).casefold().replace("ё", "е")


def find_invitee(snils: str = "", phone: str = "", surname: str = "") -> Citizen:
    """The citizen with this verified SNILS, or with this confirmed mobile phone and
    surname, who has a standard account. ``NobodyFound`` otherwise, whatever the reason."""
    snils, phone, surname = (snils or "").strip(), (phone or "").strip(), (surname or "").strip()
    if snils:
        try:
            digits = validators.normalize_snils(snils)
        except ValueError as exc:
            raise TrustedError(SNILS_ERRORS.get(str(exc), SNILS_ERRORS["snils_format"])) from exc
        index = pii().blind_index(digits, field="snils")
        found = db.session.execute(
            sa.select(Citizen).where(Citizen.snils_index == index)
        ).scalar_one_or_none()
        # Only a SNILS the Social Fund confirmed names a person.
        check = latest_check(found, "snils") if found is not None else None
        if check is None or check.status != "approved":
            found = None
    elif phone and surname:
        try:
            number = validators.normalize_phone(phone)
        except ValueError as exc:
            raise TrustedError(_l("Enter a mobile number like +7 912 345-67-89.")) from exc
        found = db.session.execute(
            sa.select(Citizen).where(
                Citizen.phone == number, Citizen.phone_verified_at.is_not(None)
            )
        ).scalar_one_or_none()
        if found is not None and _fold(found.surname) != _fold(surname):
            found = None
    else:
        raise LookupIncomplete()
    if found is None or not found.is_active or not is_at_least(found, "standard"):
        raise NobodyFound()
    return found


def _clean_sections(sections: list[str] | None) -> list[str]:
    wanted = set(sections or [])
    if not wanted or not wanted <= set(SECTIONS):
        raise NoSections()
    return [name for name in SECTIONS if name in wanted]


def _delay() -> timedelta:
    return timedelta(seconds=int(current_app.config["TRUSTED_ACCESS_DELAY"]))


def grant(
    parent: Citizen,
    child_id: int,
    *,
    sections: list[str],
    until: date | None = None,
    snils: str = "",
    phone: str = "",
    surname: str = "",
    origin: Origin,
) -> TrustedGrant:
    """Invite a person to one child's diary; they are told and answer in their cabinet."""
    if not is_at_least(parent, "standard"):
        raise LevelTooLow()
    if verified_link(parent.id, child_id) is None:
        raise NotFound()
    clean_sections = _clean_sections(sections)
    if until is not None and until <= today():
        raise BadUntil()
    invitee = find_invitee(snils=snils, phone=phone, surname=surname)
    child = db.session.get(Child, child_id)
    if invitee.id == parent.id:
        raise TrustedError(_l("You cannot give access to yourself."))
    if child.account_id == invitee.id:
        raise TrustedError(_l("This is the child's own account."))
    if verified_link(invitee.id, child_id) is not None:
        raise TrustedError(_l("This person is the child's parent and sees the diary already."))
    if any(_is_open(g) for g in _grants_of_child(child_id) if g.grantee_id == invitee.id):
        raise TrustedError(
            _l("This person already has access to the child's diary or an invitation to it.")
        )
    new = TrustedGrant(
        child_id=child_id,
        granter_id=parent.id,
        grantee_id=invitee.id,
        sections=clean_sections,
        until=until,
    )
    db.session.add(new)
    db.session.flush()
    record_event(parent, "trusted_granted", origin, grant=new.public_id)
    db.session.commit()
    with force_locale(invitee.locale):
        notifications.tell_owner(
            invitee,
            gettext("Access to a child's electronic diary"),
            gettext(
                "%(parent)s invites you to see the electronic diary of %(child)s. "
                "Open “Access given to me” in your cabinet to accept or decline.",
                parent=parent.full_name,
                child=_short_name(child),
            ),
        )
    return new


def _short_name(child: Child) -> str:
    return f"{child.given_name} {child.surname}"


def _grants_of_child(child_id: int) -> list[TrustedGrant]:
    return list(
        db.session.execute(
            sa.select(TrustedGrant)
            .where(TrustedGrant.child_id == child_id)
            .order_by(TrustedGrant.created_at.desc(), TrustedGrant.id.desc())
        ).scalars()
    )


def _grant_by_public_id(public_id: str) -> TrustedGrant | None:
    return db.session.execute(
        sa.select(TrustedGrant).where(TrustedGrant.public_id == str(public_id))
    ).scalar_one_or_none()


def _invitation(grantee: Citizen, public_id: str) -> TrustedGrant:
    """The grant to this citizen; anyone else's is "not found" (it does not exist for them)."""
    found = _grant_by_public_id(public_id)
    if found is None or found.grantee_id != grantee.id:
        raise NotFound()
    if status_of(found) != WAITING:
        raise GrantClosed()
    return found


def _answer(found: TrustedGrant, **values: Any) -> None:
    """Record the invitee's answer in one UPDATE that matches only an invitation nobody
    has answered or revoked: of answers sent at once (two tabs, accept and decline) one
    counts and the others get ``GrantClosed``. Not committed: the caller's event goes
    with it."""
    answered = db.session.execute(
        sa.update(TrustedGrant)
        .where(
            TrustedGrant.id == found.id,
            TrustedGrant.accepted_at.is_(None),
            TrustedGrant.declined_at.is_(None),
            TrustedGrant.revoked_at.is_(None),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not answered:
        db.session.rollback()
        raise GrantClosed()
    db.session.refresh(found)


def accept(grantee: Citizen, public_id: str, origin: Origin) -> TrustedGrant:
    """Accept an invitation; access opens after ``TRUSTED_ACCESS_DELAY``."""
    found = _invitation(grantee, public_id)
    now = utcnow()
    _answer(found, accepted_at=now, opens_at=now + _delay())
    record_event(grantee, "trusted_accepted", origin, grant=found.public_id)
    db.session.commit()
    _tell_granter(found, "accepted")
    return found


def decline(grantee: Citizen, public_id: str, origin: Origin) -> TrustedGrant:
    found = _invitation(grantee, public_id)
    _answer(found, declined_at=utcnow())
    record_event(grantee, "trusted_declined", origin, grant=found.public_id)
    db.session.commit()
    _tell_granter(found, "declined")
    return found


def _tell_granter(found: TrustedGrant, what: str) -> None:
    granter, child = found.granter, found.child
    with force_locale(granter.locale):
        if what == "accepted":
            body = gettext(
                "%(person)s accepted access to the electronic diary of %(child)s. "
                "It opens %(delay)s after acceptance; you can revoke it at any time.",
                person=found.grantee.full_name,
                child=_short_name(child),
                delay=format_timedelta(_delay(), threshold=1),
            )
        elif what == "given_up":
            body = gettext(
                "%(person)s gave up access to the electronic diary of %(child)s.",
                person=found.grantee.full_name,
                child=_short_name(child),
            )
        else:
            body = gettext(
                "%(person)s declined access to the electronic diary of %(child)s.",
                person=found.grantee.full_name,
                child=_short_name(child),
            )
        notifications.tell_owner(granter, gettext("Trusted persons"), body)


def give_up(grantee: Citizen, public_id: str, origin: Origin) -> TrustedGrant:
    """The trusted person ends an access they accepted (they no longer want it): as a
    revocation, the diaries are told and the child's parent learns of it."""
    found = _grant_by_public_id(public_id)
    if found is None or found.grantee_id != grantee.id:
        raise NotFound()
    if found.accepted_at is None or found.revoked_at is not None:
        raise AccessEnded()
    if not _end(found, BY_TRUSTED_PERSON, grantee):
        db.session.rollback()
        raise AccessEnded()
    record_event(grantee, "trusted_given_up", origin, grant=found.public_id)
    db.session.commit()
    _announce_revoked([found], tell_grantee=False)
    _tell_granter(found, "given_up")
    return found


def revoke(parent: Citizen, public_id: str, origin: Origin) -> TrustedGrant:
    """End a grant: the granting parent or another verified parent of the child may."""
    found = _grant_by_public_id(public_id)
    if found is None or (
        found.granter_id != parent.id and verified_link(parent.id, found.child_id) is None
    ):
        raise NotFound()
    if found.revoked_at is not None or found.declined_at is not None:
        raise AccessEnded()
    if not _end(found, BY_PARENT, parent):
        db.session.rollback()
        raise AccessEnded()
    record_event(parent, "trusted_revoked", origin, grant=found.public_id)
    db.session.commit()
    _announce_revoked([found])
    return found


def revoke_grants_of(parent: Citizen, child_id: int, reason: str = LINK_REMOVED) -> int:
    """End every grant this parent made for this child (their link to it is going away).
    Commits, with whatever the caller changed. Returns how many grants ended."""
    ended = [
        g
        for g in _grants_of_child(child_id)
        if g.granter_id == parent.id
        and g.revoked_at is None
        and g.declined_at is None
        and _end(g, reason, parent)
    ]
    db.session.commit()
    _announce_revoked(ended)
    return len(ended)


def _end(found: TrustedGrant, reason: str, by: Citizen) -> bool:
    """Revoke the grant in one UPDATE that matches only a grant not ended (nor declined)
    yet: of two ends at once (two parents, two tabs, a revocation and the removal of the
    child) one ends it, and the diaries and the trusted person are told once. For the
    trusted person giving up, only an accepted grant ends. False if it had ended; not
    committed."""
    conditions = [
        TrustedGrant.id == found.id,
        TrustedGrant.revoked_at.is_(None),
        TrustedGrant.declined_at.is_(None),
    ]
    if reason == BY_TRUSTED_PERSON:
        conditions.append(TrustedGrant.accepted_at.is_not(None))
    ended = db.session.execute(
        sa.update(TrustedGrant)
        .where(*conditions)
        .values(revoked_at=utcnow(), revoked_reason=reason, revoked_by_id=by.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not ended:
        return False
    # As it is now: whether it was accepted meanwhile decides whether the diaries hear.
    db.session.refresh(found)
    return True


def _announce_revoked(ended: list[TrustedGrant], tell_grantee: bool = True) -> None:
    """Tell the diaries (``trusted_access_ended``: the federation sends it to every
    region's) and the trusted person. A grant never accepted never reached a diary:
    nothing to tell it."""
    for found in ended:
        if found.accepted_at is not None:
            trusted_access_ended.send(current_app._get_current_object(), grant=found)
        grantee = found.grantee
        if not tell_grantee:
            continue
        with force_locale(grantee.locale):
            notifications.tell_owner(
                grantee,
                gettext("Access to a child's electronic diary"),
                gettext(
                    "Your access to the electronic diary of %(child)s has ended.",
                    child=_short_name(found.child),
                ),
            )
