"""Rules and transactions of the identity room.

Every function takes plain values (no request), commits its own work and raises
``shared.errors`` subclasses. Login, registration and recovery never tell whether an
account exists: an unknown login gets the same answer and spends the same time.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.identity import codes, lockout, notifications
from portal.identity.models import (
    Citizen,
    CodeChallenge,
    Consent,
    SecurityEvent,
)
from portal.identity.passwords import (
    burn_verification_time,
    check_password_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from portal.identity.security_log import Origin, record_event
from portal.identity.sessions import end_all_sessions
from portal.metrics import SIGN_INS
from shared.crypto import pii, seal
from shared.errors import DomainError, NotFound, ValidationError
from shared.sessions import utcnow
from shared.validators import normalize_email, normalize_phone, normalize_snils

PHONE, EMAIL = "sms", "email"


class InvalidCredentials(DomainError):
    status = 400
    code = "invalid_credentials"
    default_message = _l("Wrong login or password.")


class RegistrationExpired(DomainError):
    code = "registration_expired"
    default_message = _l("The registration has expired. Please start again.")


class ConsentRequired(ValidationError):
    default_message = _l("Registration needs your consent to the processing of personal data.")


CONTACT_ERRORS = {
    "phone_format": _l("Enter a mobile number like +7 912 345-67-89."),
    "phone_not_mobile": _l("Enter a mobile number: it starts with 9 after +7."),
    "email_format": _l("Enter an e-mail address like name@example.ru."),
}


def parse_contact(raw: str) -> tuple[str, str]:
    """``(channel, normalised value)`` for a phone number or an e-mail address."""
    try:
        if "@" in (raw or ""):
            return EMAIL, normalize_email(raw)
        return PHONE, normalize_phone(raw)
    except ValueError as exc:
        raise ValidationError(CONTACT_ERRORS[str(exc)]) from exc


def find_by_contact(channel: str, value: str) -> Citizen | None:
    column = Citizen.email if channel == EMAIL else Citizen.phone
    return db.session.execute(sa.select(Citizen).where(column == value)).scalar_one_or_none()


def canonical_login(identifier: str) -> str:
    """One spelling per account for whatever was typed: the key of per-account limits."""
    text = (identifier or "").strip()
    for kind, normalise in (
        ("email", normalize_email),
        ("phone", normalize_phone),
        ("snils", normalize_snils),
    ):
        if (kind == "email") != ("@" in text):
            continue
        try:
            return f"{kind}:{normalise(text)}"
        except ValueError:
            continue
    return "raw:" + "".join(text.lower().split())[:254]


def find_by_login(identifier: str) -> Citizen | None:
    """Find a citizen by phone, e-mail or SNILS, whichever the text is."""
    text = (identifier or "").strip()
    if "@" in text:
        try:
            return find_by_contact(EMAIL, normalize_email(text))
        except ValueError:
            return None
    candidates: list[Citizen | None] = []
    with contextlib.suppress(ValueError):
        candidates.append(find_by_contact(PHONE, normalize_phone(text)))
    try:
        snils = normalize_snils(text)
    except ValueError:
        snils = None
    if snils:
        index = pii().blind_index(snils, field="snils")
        candidates.append(
            db.session.execute(
                sa.select(Citizen).where(Citizen.snils_index == index)
            ).scalar_one_or_none()
        )
    return next((c for c in candidates if c is not None), None)


def recent_events(citizen: Citizen, limit: int = 50) -> list[SecurityEvent]:
    return list(
        db.session.execute(
            sa.select(SecurityEvent)
            .where(SecurityEvent.citizen_id == citizen.id)
            .order_by(SecurityEvent.created_at.desc(), SecurityEvent.id.desc())
            .limit(limit)
        ).scalars()
    )


# --- registration -------------------------------------------------------------------


def _clean_name(value: str, label: str) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise ValidationError(gettext("Fill in the field “%(label)s”.", label=label))
    if len(value) > 100 or any(not (ch.isalpha() or ch in " -'’.") for ch in value):
        raise ValidationError(
            gettext(
                "The field “%(label)s” may contain only letters, spaces and hyphens.", label=label
            )
        )
    return value


def start_registration(surname: str, given_name: str, contact: str, locale: str) -> CodeChallenge:
    """Send a code to the contact; if it already has an account, tell its owner instead."""
    surname = _clean_name(surname, gettext("Surname"))
    given_name = _clean_name(given_name, gettext("Name"))
    channel, value = parse_contact(contact)
    owner = find_by_contact(channel, value)
    challenge, code = codes.issue(
        purpose="register",
        channel=channel,
        destination=value,
        payload={"surname": surname, "given_name": given_name, "locale": locale},
        deliverable=owner is None,
    )
    db.session.commit()
    if owner is None:
        notifications.send_code(channel, value, code, "register")
    else:
        notifications.tell_contact_taken(channel, value, owner.locale)
    return challenge


def resend_code(public_id: str, purpose: str) -> CodeChallenge:
    challenge = codes.get(public_id, purpose)
    code = codes.reissue(challenge)
    db.session.commit()
    if challenge.deliverable:
        notifications.send_code(challenge.channel, challenge.destination, code, purpose)
    return challenge


def confirm_code(public_id: str, purpose: str, code: str) -> CodeChallenge:
    challenge = codes.get(public_id, purpose)
    codes.check(challenge, code)
    db.session.commit()
    return challenge


def complete_registration(public_id: str, password: str, consent: bool, origin: Origin) -> Citizen:
    challenge = codes.get(public_id, "register")
    window = timedelta(seconds=int(current_app.config["REGISTRATION_WINDOW"]))
    if (
        challenge.verified_at is None
        or challenge.completed_at is not None
        or utcnow() - challenge.verified_at > window
    ):
        raise RegistrationExpired()
    if not consent:
        raise ConsentRequired()
    check_password_policy(
        password,
        [challenge.destination, challenge.payload["surname"], challenge.payload["given_name"]],
    )
    now = utcnow()
    citizen = Citizen(
        surname=challenge.payload["surname"],
        given_name=challenge.payload["given_name"],
        password_hash=hash_password(password),
        locale=challenge.payload.get("locale", "ru"),
    )
    if challenge.channel == EMAIL:
        citizen.email, citizen.email_verified_at = challenge.destination, now
    else:
        citizen.phone, citizen.phone_verified_at = challenge.destination, now
    citizen.consents.append(
        Consent(policy_version=current_app.config["CONSENT_POLICY_VERSION"], ip=origin.ip[:64])
    )
    if not codes.complete(challenge):  # the same form sent twice: the first one made it
        db.session.rollback()
        raise RegistrationExpired()
    db.session.add(citizen)
    try:
        db.session.flush()
    except IntegrityError as exc:  # the contact was taken meanwhile
        db.session.rollback()
        raise RegistrationExpired() from exc
    record_event(citizen, "registered", origin)
    db.session.commit()
    return citizen


def create_citizen(
    *,
    surname: str,
    given_name: str,
    password: str,
    patronymic: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    snils: str | None = None,
    check_policy: bool = True,
) -> Citizen:
    """Create a citizen with confirmed contacts (operators' command, demo data)."""
    if not phone and not email:
        raise ValidationError(_l("Give a phone number or an e-mail address."))
    now = utcnow()
    citizen = Citizen(
        surname=_clean_name(surname, gettext("Surname")),
        given_name=_clean_name(given_name, gettext("Name")),
    )
    citizen.patronymic = _clean_name(patronymic, gettext("Patronymic")) if patronymic else None
    try:
        if phone:
            citizen.phone, citizen.phone_verified_at = normalize_phone(phone), now
        if email:
            citizen.email, citizen.email_verified_at = normalize_email(email), now
    except ValueError as exc:
        raise ValidationError(CONTACT_ERRORS[str(exc)]) from exc
    digits = None
    if snils:
        try:
            digits = normalize_snils(snils)
        except ValueError as exc:
            raise ValidationError(_l("The SNILS number is not valid.")) from exc
        citizen.snils_index = pii().blind_index(digits, field="snils")
    if check_policy:
        check_password_policy(password, [phone, email, surname, given_name])
    citizen.password_hash = hash_password(password)
    citizen.consents.append(Consent(policy_version=current_app.config["CONSENT_POLICY_VERSION"]))
    db.session.add(citizen)
    try:
        if digits:
            seal(citizen, snils_encrypted=digits)  # bound to the row: inserts it first
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise ValidationError(
            _l("A citizen with this phone, e-mail or SNILS already exists.")
        ) from exc
    return citizen


# --- sign-in ------------------------------------------------------------------------


def authenticate(identifier: str, password: str, origin: Origin) -> Citizen:
    """Check the password; the same ``InvalidCredentials`` for every failure.

    The password is a guess under the account's lockout (``lockout.guess``): during a
    lockout it is not even checked. For an account with a second factor a right password
    does not clear the failure counter; only the second factor does. A rehash is
    committed here; the cleared counter (no second factor) with the sign-in's record
    (``record_sign_in``), in one transaction: nothing is reloaded between them.
    """
    citizen = find_by_login(identifier)
    if citizen is None or not citizen.is_active:
        burn_verification_time(password)
        SIGN_INS.labels("unknown_account").inc()
        raise InvalidCredentials()
    try:
        right = lockout.guess(
            citizen,
            origin,
            lambda: verify_password(citizen.password_hash, password),
            failure="login_failed",
            completes=citizen.mfa_method is None,
        )
    except lockout.AccountLocked as locked:
        burn_verification_time(password)
        SIGN_INS.labels("locked").inc()
        raise InvalidCredentials() from locked
    if not right:
        SIGN_INS.labels("bad_password").inc()
        raise InvalidCredentials()
    if needs_rehash(citizen.password_hash):
        citizen.password_hash = hash_password(password)
        db.session.commit()
    return citizen


def record_sign_in(citizen: Citizen, origin: Origin, methods: list[str]) -> None:
    record_event(citizen, "login", origin, amr=methods)
    db.session.commit()
    SIGN_INS.labels("success").inc()


def check_account_code(challenge: CodeChallenge, code: str, origin: Origin) -> None:
    """Accept a one-time code; one sent for an account is also a guess under that
    account's lockout (``lockout.AccountLocked`` while it is locked)."""
    citizen = db.session.get(Citizen, challenge.citizen_id) if challenge.citizen_id else None
    if citizen is None:
        codes.check(challenge, code)
        return
    right = lockout.guess(
        citizen,
        origin,
        lambda: codes.try_code(challenge, code),
        failure="code_failed",
        completes=False,
    )
    if not right:
        codes.refuse(challenge)


# --- recovery -----------------------------------------------------------------------


def start_recovery(contact: str) -> CodeChallenge:
    """Send a recovery code if the contact has an account; look the same if not.

    A locked account gets no code (its codes could not be checked until the lockout
    ends): its owner is told when to try again, the requester sees the usual page."""
    channel, value = parse_contact(contact)
    citizen = find_by_contact(channel, value)
    until = lockout.locked_until(citizen.id) if citizen is not None else None
    challenge, code = codes.issue(
        purpose="recover",
        channel=channel,
        destination=value,
        citizen_id=citizen.id if citizen else None,
        deliverable=citizen is not None and until is None,
    )
    db.session.commit()
    if citizen is not None:
        with force_locale(citizen.locale):
            if until is None:
                notifications.send_code(channel, value, code, "recover")
            else:
                notifications.tell_recovery_paused(channel, value, until)
    return challenge


def confirm_recovery_code(public_id: str, code: str, origin: Origin) -> CodeChallenge:
    """The recovery code: a guess under the account's lockout. A lockout gets the same
    answer as an exhausted code, so the page never tells whether an account exists."""
    challenge = codes.get(public_id, "recover")
    try:
        check_account_code(challenge, code, origin)
    except lockout.AccountLocked as locked:
        raise codes.CodeAttemptsExhausted() from locked
    db.session.commit()
    return challenge


def complete_recovery(public_id: str, password: str, origin: Origin) -> Citizen:
    challenge = codes.get(public_id, "recover")
    window = timedelta(seconds=int(current_app.config["REGISTRATION_WINDOW"]))
    if (
        challenge.verified_at is None
        or challenge.completed_at is not None
        or challenge.citizen_id is None
        or utcnow() - challenge.verified_at > window
    ):
        raise RegistrationExpired(_l("The recovery has expired. Please start again."))
    citizen = db.session.get(Citizen, challenge.citizen_id)
    if citizen is None:
        raise NotFound()
    check_password_policy(
        password, [citizen.phone, citizen.email, citizen.surname, citizen.given_name]
    )
    password_hash = hash_password(password)
    if not codes.complete(challenge):  # sent twice at once: one sets the password
        db.session.rollback()
        raise RegistrationExpired(_l("The recovery has expired. Please start again."))
    citizen.password_hash = password_hash
    citizen.password_changed_at = utcnow()
    citizen.failed_logins = 0
    citizen.lockout_count = 0
    citizen.locked_until = None
    record_event(citizen, "password_recovered", origin)
    db.session.commit()
    end_all_sessions(citizen.id)
    notifications.tell_security_change(citizen, "recovered")
    return citizen
