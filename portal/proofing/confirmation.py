"""The confirmed account: by the code of a registered letter to the citizen's address, or
in person by a service-centre operator."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.identity import notifications
from portal.identity.models import Citizen
from portal.identity.services import Origin, record_event
from portal.proofing import checks
from portal.proofing.models import LetterCode
from portal.proofing.services import (
    AlreadyConfirmed,
    LevelTooLow,
    NoLetterWaiting,
    has_standard_basis,
    is_at_least,
    recompute_level,
    validation_error,
)
from shared import validators
from shared.crypto import pii, seal, unseal
from shared.errors import Forbidden, NotFound, ValidationError
from shared.sessions import utcnow


def request_letter(citizen: Citizen, origin: Origin) -> LetterCode:
    """Send a registered letter with a confirmation code to the citizen's address."""
    if not is_at_least(citizen, "standard"):
        raise LevelTooLow()
    if citizen.level == "confirmed":
        raise ValidationError(_l("Your account is already confirmed."))
    address = citizen.actual_address or citizen.registration_address
    if not address:
        raise ValidationError(
            _l("Fill in your address in the personal data first: the letter goes there.")
        )
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    code = "".join(secrets.choice(alphabet) for _ in range(8))
    days = int(current_app.config["LETTER_CODE_LIFETIME_DAYS"])
    check = checks.start_check(citizen.id, "letter", flush_only=True)
    letter = LetterCode(
        citizen_id=citizen.id,
        check_id=check.id,
        address=address,
        expires_at=utcnow() + timedelta(days=days),
    )
    db.session.add(letter)
    seal(letter, code_encrypted=code)
    record_event(citizen, "letter_requested", origin)
    db.session.commit()
    checks.dispatch(check)
    return letter


def pending_letter(citizen: Citizen) -> LetterCode | None:
    return db.session.execute(
        sa.select(LetterCode)
        .where(
            LetterCode.citizen_id == citizen.id,
            LetterCode.used_at.is_(None),
            LetterCode.expires_at > utcnow(),
        )
        .order_by(LetterCode.id.desc())
        .limit(1)
    ).scalar_one_or_none()


LETTER_MAX_ATTEMPTS = 5


def confirm_by_letter(citizen: Citizen, code: str, origin: Origin) -> None:
    """Confirm the identity by the code of the waiting letter: five tries, used once.

    Each entry is counted by one UPDATE before the code is compared, and the right code
    is spent by another (``… WHERE used_at IS NULL``) that holds the letter's row until
    the confirmation commits: of the same code sent at once, one confirms, and wrong
    codes sent at once are all counted."""
    letter = pending_letter(citizen)
    if letter is None:
        raise NoLetterWaiting()
    now = utcnow()
    counted = db.session.execute(
        sa.update(LetterCode)
        .where(
            LetterCode.id == letter.id,
            LetterCode.used_at.is_(None),
            LetterCode.expires_at > now,
            LetterCode.attempts < LETTER_MAX_ATTEMPTS,
        )
        .values(attempts=LetterCode.attempts + 1)
        .returning(LetterCode.attempts)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if counted is None:
        db.session.rollback()
        if pending_letter(citizen) is None:
            raise NoLetterWaiting()
        raise ValidationError(_l("Too many wrong codes. Ask for a new letter."))
    typed = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    if not hmac.compare_digest(typed, unseal(letter, "code_encrypted")):
        db.session.commit()
        raise ValidationError(_l("The code is wrong. Check it against the letter."))
    spent = db.session.execute(
        sa.update(LetterCode)
        .where(LetterCode.id == letter.id, LetterCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not spent:
        db.session.rollback()
        raise NoLetterWaiting()
    _confirm(citizen, "letter", None, origin)


def _confirm(citizen: Citizen, method: str, operator: Citizen | None, origin: Origin) -> None:
    """Confirm once: one UPDATE that matches only an identity not confirmed yet, so an
    operator's button pressed twice, or the letter's code entered while an operator
    confirms, makes one confirmation (one event, one notice)."""
    if not has_standard_basis(citizen):
        raise LevelTooLow()
    now = utcnow()
    confirmed = db.session.execute(
        sa.update(Citizen)
        .where(Citizen.id == citizen.id, Citizen.confirmed_at.is_(None))
        .values(
            confirmed_at=now,
            confirmed_method=method,
            confirmed_by=operator.id if operator else None,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not confirmed:
        db.session.rollback()
        raise AlreadyConfirmed()
    record_event(citizen, "identity_confirmed", origin, method=method)
    db.session.commit()
    recompute_level(citizen, origin)
    with force_locale(citizen.locale):
        notifications.tell_owner(
            citizen,
            gettext("Your account is confirmed"),
            gettext("Your identity is confirmed: the account now has the confirmed level."),
        )


# --- service-centre operators -------------------------------------------------------


def find_for_operator(operator: Citizen, snils: str) -> Citizen:
    if operator.operator is None:
        raise Forbidden()
    try:
        digits = validators.normalize_snils(snils)
    except ValueError as exc:
        raise validation_error(str(exc)) from exc
    index = pii().blind_index(digits, field="snils")
    citizen = db.session.execute(
        sa.select(Citizen).where(Citizen.snils_index == index)
    ).scalar_one_or_none()
    if citizen is None:
        raise NotFound(_l("No citizen with this SNILS."))
    return citizen


def confirm_by_operator(operator: Citizen, citizen_public_id: str, origin: Origin) -> Citizen:
    if operator.operator is None:
        raise Forbidden()
    citizen = db.session.execute(
        sa.select(Citizen).where(Citizen.public_id == citizen_public_id)
    ).scalar_one_or_none()
    if citizen is None:
        raise NotFound()
    if citizen.id == operator.id:
        raise Forbidden(_l("An operator cannot confirm their own identity."))
    _confirm(citizen, "operator", operator, origin)
    record_event(operator, "operator_confirmed_citizen", origin, confirmed=citizen.public_id)
    db.session.commit()
    return citizen
