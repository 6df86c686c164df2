"""Children: a standard-level parent adds a child; the civil registry (ЗАГС) confirms
the parent is named on the birth certificate and the Social Fund (СФР) confirms the
child's SNILS. Then the child is a verified kid of that parent. Two parents can each
add the same child (one record, two links); nobody the registry does not name can.

A record's data become the child's once ЗАГС has confirmed them (``confirmed_at``);
from then on different data are refused. Before that the record is only a draft: a
parent entering other data rewrites it (and the other parents' claims are checked again
against the new data), and removing its last link removes it, so a typo, or data
entered on purpose by someone who knows the SNILS, never locks out the true data."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.family import trusted
from portal.family.models import Child, ParentLink
from portal.identity import notifications
from portal.identity.models import Citizen
from portal.identity.services import Origin, record_event
from portal.proofing import checks
from portal.proofing.models import VerificationCheck
from portal.proofing.services import (
    SNILS_CONFIRMED,
    LevelTooLow,
    is_at_least,
    person_of,
    reason_text,
)
from shared import validators
from shared.crypto import pii, seal, unseal
from shared.errors import NotFound, ValidationError
from shared.i18n import local_today
from shared.sessions import utcnow

CHILD_ACCOUNT_AGE = 14


class ChildDataMismatch(ValidationError):
    default_message = _l(
        "Check the child's data: they must be exactly as in the birth certificate."
    )


def _years(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _name(value: str | None, required: bool) -> str | None:
    value = " ".join((value or "").split())[:100]
    if required and not value:
        raise ValidationError(_l("Fill in the child's surname and name."))
    return value or None


def add_child(parent: Citizen, data: dict[str, Any], origin: Origin) -> ParentLink:
    """Claim a child; the checks start at once and decide whether the claim holds."""
    if not is_at_least(parent, "standard"):
        raise LevelTooLow()
    today = local_today()
    birth_date: date | None = data.get("birth_date")
    if birth_date is None or birth_date > today or _years(birth_date, today) >= 18:
        raise ValidationError(_l("The child's birth date must be within the last 18 years."))
    if data.get("gender") not in ("M", "F"):
        raise ValidationError(_l("Choose the gender."))
    issue_date: date | None = data.get("certificate_issue_date")
    if issue_date is None or issue_date < birth_date or issue_date > today:
        raise ValidationError(
            _l("The certificate is issued on or after the birth date and not in the future.")
        )
    office = " ".join((data.get("registry_office") or "").split())[:200]
    if not office:
        raise ValidationError(_l("Enter the registry office that issued the certificate."))
    try:
        series = validators.normalize_birth_certificate_series(data.get("certificate_series", ""))
        number = validators.normalize_birth_certificate_number(data.get("certificate_number", ""))
        snils = validators.normalize_snils(data.get("snils", ""))
    except ValueError as exc:
        raise ValidationError(
            {
                "certificate_series_format": _l("The certificate series looks like IV-МЮ."),
                "certificate_number_format": _l("The certificate number is 6 digits."),
            }.get(str(exc), _l("The child's SNILS is not valid."))
        ) from exc
    index = pii().blind_index(snils, field="snils")
    if index == parent.snils_index:
        raise ValidationError(_l("This is your own SNILS, not the child's."))
    certificate = f"{series} {number}"
    details = {"issue_date": issue_date.isoformat(), "registry_office": office}
    surname, given_name = _name(data.get("surname"), True), _name(data.get("given_name"), True)
    patronymic = _name(data.get("patronymic"), False)

    claimed = {
        "surname": surname,
        "given_name": given_name,
        "patronymic": patronymic,
        "birth_date": birth_date,
        "gender": data["gender"],
    }
    try:
        child, started = _claim_record(parent, index, snils, certificate, details, claimed)
    except IntegrityError:  # another parent created the record a moment ago: join it
        db.session.rollback()
        child, started = _claim_record(parent, index, snils, certificate, details, claimed)
    link = ParentLink(parent_id=parent.id, child_id=child.id)
    db.session.add(link)
    record_event(parent, "child_added", origin)
    started.append(checks.start_check(parent.id, "child_relation", child.id, flush_only=True))
    snils_check = _child_snils_check(child)
    if child.snils_verified_at is None and (
        snils_check is None or snils_check.status == "rejected"
    ):
        started.append(checks.start_check(parent.id, "child_snils", child.id, flush_only=True))
    db.session.commit()
    for check in started:
        checks.dispatch(check)
    return link


def _claim_record(
    parent: Citizen,
    index: str,
    snils: str,
    certificate: str,
    details: dict[str, Any],
    claimed: dict[str, Any],
) -> tuple[Child, list[VerificationCheck]]:
    """The record of the child with this SNILS for ``parent`` to link to: a new one; the
    existing one if the data agree; or, if they differ, the existing draft rewritten
    with this parent's data (a record with confirmed data refuses them instead). Returns
    the record and the checks its rewrite started for the other parents. The caller
    adds the link and commits. The record's row is locked: two parents at once queue."""
    child = db.session.execute(
        sa.select(Child).where(Child.snils_index == index).with_for_update()
    ).scalar_one_or_none()
    if child is None:
        child = Child(**claimed, snils_index=index, certificate_details=details)
        db.session.add(child)
        seal(child, snils_encrypted=snils, certificate_encrypted=certificate)
        return child, []
    # What the registries check: ЗАГС the certificate (series, number, issue date) with
    # the child's names and birth date, СФР the SNILS with the names and birth date.
    same_person = (child.surname, child.given_name, child.patronymic, child.birth_date) == (
        claimed["surname"],
        claimed["given_name"],
        claimed["patronymic"],
        claimed["birth_date"],
    )
    same_certificate = (
        unseal(child, "certificate_encrypted") == certificate
        and child.certificate_details.get("issue_date") == details["issue_date"]
    )
    mine = db.session.execute(
        sa.select(ParentLink).where(
            ParentLink.parent_id == parent.id, ParentLink.child_id == child.id
        )
    ).scalar_one_or_none()
    if same_person and same_certificate:
        if mine is not None:
            raise ValidationError(_l("You have already added this child."))
        return child, []
    if child.confirmed_at is not None:
        raise ChildDataMismatch()
    return child, _rewrite_draft(child, parent, mine, certificate, details, claimed, same_person)


def _rewrite_draft(
    child: Child,
    parent: Citizen,
    mine: ParentLink | None,
    certificate: str,
    details: dict[str, Any],
    claimed: dict[str, Any],
    same_person: bool,
) -> list[VerificationCheck]:
    """Put this parent's data in the draft. Each other parent's claim is checked again
    against them (ЗАГС says whether that parent is named on this certificate); a SNILS
    check of other names or another birth date no longer counts."""
    for key, value in claimed.items():
        setattr(child, key, value)
    seal(child, certificate_encrypted=certificate)
    child.certificate_details = details
    if not same_person:
        child.snils_verified_at = None
        db.session.execute(
            sa.update(VerificationCheck)
            .where(
                VerificationCheck.child_id == child.id,
                VerificationCheck.kind == "child_snils",
                VerificationCheck.status != "superseded",
            )
            .values(status="superseded")
        )
    if mine is not None:  # this parent corrects their own entry: the link stays
        db.session.delete(mine)
        db.session.flush()
    others = db.session.execute(
        sa.select(ParentLink.parent_id).where(
            ParentLink.child_id == child.id, ParentLink.parent_id != parent.id
        )
    ).scalars()
    return [
        checks.start_check(other, "child_relation", child.id, flush_only=True) for other in others
    ]


def _child_snils_check(child: Child) -> VerificationCheck | None:
    return db.session.execute(
        sa.select(VerificationCheck)
        .where(
            VerificationCheck.child_id == child.id,
            VerificationCheck.kind == "child_snils",
            VerificationCheck.status != "superseded",
        )
        .order_by(VerificationCheck.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _child_person(child: Child) -> dict[str, Any]:
    return person_of(child.surname, child.given_name, child.patronymic, child.birth_date)


def _relation_subject(check: VerificationCheck) -> dict[str, Any]:
    child = db.session.get(Child, check.child_id)
    parent = db.session.get(Citizen, check.citizen_id)
    series, number = unseal(child, "certificate_encrypted").split()
    return {
        "certificate": {
            "series": series,
            "number": number,
            "issue_date": child.certificate_details["issue_date"],
        },
        "child": _child_person(child),
        "parent": person_of(
            parent.surname, parent.given_name, parent.patronymic, parent.birth_date
        ),
    }


def _child_snils_subject(check: VerificationCheck) -> dict[str, Any]:
    child = db.session.get(Child, check.child_id)
    return {"snils": unseal(child, "snils_encrypted"), **_child_person(child)}


def _after_child_check(check: VerificationCheck) -> None:
    child = db.session.get(Child, check.child_id)
    if child is None:
        return
    if check.status == "approved" and check.kind == "child_snils":
        child.snils_verified_at = utcnow()
    if check.status == "approved" and check.kind == "child_relation":
        link = db.session.execute(
            sa.select(ParentLink).where(
                ParentLink.parent_id == check.citizen_id, ParentLink.child_id == child.id
            )
        ).scalar_one_or_none()
        if link is not None:
            link.relation_verified_at = utcnow()
        child.confirmed_at = child.confirmed_at or utcnow()
    link_child_account(child)
    db.session.commit()
    parent = db.session.get(Citizen, check.citizen_id)
    with force_locale(parent.locale):
        if check.status == "approved":
            body = gettext(
                "%(name)s: the check is complete, the data are confirmed.", name=child.full_name
            )
        else:
            body = gettext(
                "%(name)s: the data were not confirmed. %(reason)s",
                name=child.full_name,
                reason=reason_text(check),
            )
        notifications.tell_owner(parent, gettext("Check of your child's data"), body)


def link_child_account(child: Child) -> None:
    """A child 14 or older with their own account (same SNILS) is linked to the record."""
    if _years(child.birth_date, local_today()) < CHILD_ACCOUNT_AGE:
        return
    account = db.session.execute(
        sa.select(Citizen.id).where(Citizen.snils_index == child.snils_index)
    ).scalar_one_or_none()
    child.account_id = account


def link_own_account(citizen: Citizen) -> None:
    """A citizen whose SNILS was just confirmed may be someone's child (14 and older)."""
    child = db.session.execute(
        sa.select(Child).where(Child.snils_index == citizen.snils_index)
    ).scalar_one_or_none()
    if child is not None:
        link_child_account(child)
        db.session.commit()


def children_of(parent: Citizen) -> list[dict[str, Any]]:
    """The parent's children with the state of every check."""
    rows = db.session.execute(
        sa.select(ParentLink, Child)
        .join(Child, Child.id == ParentLink.child_id)
        .where(ParentLink.parent_id == parent.id)
        .order_by(Child.birth_date)
    ).all()
    shown = []
    for link, child in rows:
        relation = checks.latest_check(parent.id, "child_relation", child.id)
        shown.append(
            {
                "child": child,
                "snils": validators.mask_snils(unseal(child, "snils_encrypted")),
                "relation": relation,
                "snils_check": _child_snils_check(child),
                "verified": is_verified(link, child),
                "has_account": child.account_id is not None,
            }
        )
    return shown


def is_verified(link: ParentLink, child: Child) -> bool:
    return link.relation_verified_at is not None and child.snils_verified_at is not None


def verified_children(parent: Citizen) -> list[Child]:
    """The verified kids: what the ``kids`` scope will release."""
    return [
        child
        for link, child in db.session.execute(
            sa.select(ParentLink, Child)
            .join(Child, Child.id == ParentLink.child_id)
            .where(ParentLink.parent_id == parent.id)
        ).all()
        if is_verified(link, child)
    ]


def remove_child(parent: Citizen, child_id: int, origin: Origin) -> None:
    link = db.session.execute(
        sa.select(ParentLink).where(
            ParentLink.parent_id == parent.id, ParentLink.child_id == child_id
        )
    ).scalar_one_or_none()
    if link is None:
        raise NotFound()
    # Locked like in add_child: a parent joining the record at this moment either comes
    # first (and the record stays) or finds it gone (and starts a new one).
    child = db.session.execute(
        sa.select(Child).where(Child.id == child_id).with_for_update()
    ).scalar_one()
    db.session.delete(link)
    db.session.flush()
    others = db.session.execute(
        sa.select(sa.func.count()).select_from(ParentLink).where(ParentLink.child_id == child_id)
    ).scalar_one()
    if others == 0 and child.confirmed_at is None:
        # A draft belongs to the parents who claim the child; with the last claim gone it
        # goes too, so a typo in it never stands in the way of the true data.
        db.session.delete(child)
    record_event(parent, "child_removed", origin)
    db.session.commit()
    # A parent who is no longer the child's parent here can no longer share the diary.
    trusted.revoke_grants_of(parent, child_id, trusted.LINK_REMOVED)


SNILS_CONFIRMED.append(link_own_account)
checks.register_kind("child_relation", "zags", _relation_subject, _after_child_check)
checks.register_kind("child_snils", "sfr", _child_snils_subject, _after_child_check)
