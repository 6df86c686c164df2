"""Rules and transactions of the identity room.

Every function takes plain values (no request), commits its own work and raises
``shared.errors`` subclasses. Login, registration and recovery never tell whether an
account exists: an unknown login gets the same answer and spends the same time.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pyotp
import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.identity import codes, notifications
from portal.identity.models import (
    Citizen,
    CodeChallenge,
    Consent,
    RecoveryCode,
    SecurityEvent,
    web_session,
)
from portal.identity.passwords import (
    burn_verification_time,
    check_password_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from shared.crypto import pii
from shared.errors import DomainError, NotFound, ValidationError
from shared.sessions import utcnow
from shared.validators import ascii_digits, normalize_email, normalize_phone, normalize_snils

PHONE, EMAIL = "sms", "email"


@dataclass(frozen=True)
class Origin:
    """Where a request came from, for the security log and the sessions list."""

    ip: str = ""
    user_agent: str = ""


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


def record_event(citizen: Citizen, kind: str, origin: Origin, **detail: object) -> None:
    db.session.add(
        SecurityEvent(
            citizen_id=citizen.id,
            kind=kind,
            ip=origin.ip[:64],
            user_agent=origin.user_agent[:300],
            detail=detail,
        )
    )


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
    challenge.completed_at = now
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
    if snils:
        try:
            digits = normalize_snils(snils)
        except ValueError as exc:
            raise ValidationError(_l("The SNILS number is not valid.")) from exc
        citizen.snils_encrypted = pii().encrypt(digits, field="snils")
        citizen.snils_index = pii().blind_index(digits, field="snils")
    if check_policy:
        check_password_policy(password, [phone, email, surname, given_name])
    citizen.password_hash = hash_password(password)
    citizen.consents.append(Consent(policy_version=current_app.config["CONSENT_POLICY_VERSION"]))
    db.session.add(citizen)
    try:
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

    Consecutive failures lock the account for ``LOCKOUT_BASE_SECONDS``, doubling with each
    further lockout up to ``LOCKOUT_MAX_SECONDS``; the owner is told. During a lockout
    the password is not even checked.
    """
    cfg = current_app.config
    citizen = find_by_login(identifier)
    if citizen is None or not citizen.is_active:
        burn_verification_time(password)
        raise InvalidCredentials()
    now = utcnow()
    if citizen.locked_until and citizen.locked_until > now:
        burn_verification_time(password)
        record_event(citizen, "login_blocked", origin)
        db.session.commit()
        raise InvalidCredentials()
    if not verify_password(citizen.password_hash, password):
        citizen.failed_logins += 1
        record_event(citizen, "login_failed", origin)
        if citizen.failed_logins >= int(cfg["LOCKOUT_THRESHOLD"]):
            citizen.lockout_count += 1
            seconds = min(
                int(cfg["LOCKOUT_BASE_SECONDS"]) * 2 ** (citizen.lockout_count - 1),
                int(cfg["LOCKOUT_MAX_SECONDS"]),
            )
            citizen.locked_until = now + timedelta(seconds=seconds)
            citizen.failed_logins = 0
            record_event(citizen, "locked", origin, seconds=seconds)
            db.session.commit()
            notifications.tell_locked(citizen, max(1, seconds // 60))
        db.session.commit()
        raise InvalidCredentials()
    if needs_rehash(citizen.password_hash):
        citizen.password_hash = hash_password(password)
    citizen.failed_logins = 0
    citizen.lockout_count = 0
    citizen.locked_until = None
    db.session.commit()
    return citizen


def record_sign_in(citizen: Citizen, origin: Origin, methods: list[str]) -> None:
    record_event(citizen, "login", origin, amr=methods)
    db.session.commit()


# --- second factor ------------------------------------------------------------------


class SecondFactorFailed(DomainError):
    code = "invalid_code"
    default_message = _l("The code is wrong or has expired.")


def start_sms_factor(citizen: Citizen) -> CodeChallenge:
    if not citizen.phone:
        raise ValidationError(_l("Add a mobile phone number first."))
    challenge, code = codes.issue(
        purpose="login", channel=PHONE, destination=citizen.phone, citizen_id=citizen.id
    )
    db.session.commit()
    notifications.send_code(PHONE, citizen.phone, code, "login")
    return challenge


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, issuer=current_app.config["TOTP_ISSUER"])


def _check_totp(citizen: Citizen, secret: str, code: str) -> bool:
    """A TOTP code is accepted once: the step it belongs to may not be used again."""
    code = ascii_digits(code)
    totp = _totp(secret)
    now = utcnow()
    for drift in (0, -1, 1):  # one step of clock drift either way (RFC 6238 §5.2)
        step = totp.timecode(now) + drift
        if hmac.compare_digest(totp.generate_otp(step), code):
            if citizen.totp_last_step is not None and step <= citizen.totp_last_step:
                return False
            citizen.totp_last_step = step
            return True
    return False


def _recovery_hash(code: str) -> str:
    key = current_app.config["CODE_KEY"].encode()
    normalised = code.replace("-", "").replace(" ", "").lower()
    return hmac.new(key, b"recovery:" + normalised.encode(), hashlib.sha256).hexdigest()


def _use_recovery_code(citizen: Citizen, code: str) -> bool:
    digest = _recovery_hash(code)
    row = db.session.execute(
        sa.select(RecoveryCode).where(
            RecoveryCode.citizen_id == citizen.id,
            RecoveryCode.code_hash == digest,
            RecoveryCode.used_at.is_(None),
        )
    ).scalar_one_or_none()
    if row is None:
        return False
    row.used_at = utcnow()
    return True


def verify_second_factor(
    citizen: Citizen, code: str, challenge_id: str | None, origin: Origin
) -> str:
    """Return the method that passed (``sms``, ``otp`` or ``recovery``) or raise."""
    code = (code or "").strip()
    method: str | None = None
    if citizen.mfa_method == "totp" and citizen.totp_secret_encrypted:
        secret = pii().decrypt(citizen.totp_secret_encrypted, field="totp")
        if _check_totp(citizen, secret, code):
            method = "otp"
    elif citizen.mfa_method == "sms" and challenge_id:
        try:
            challenge = codes.get(challenge_id, "login")
            if challenge.citizen_id == citizen.id:
                codes.check(challenge, code)
                method = "sms"
        except codes.CodeError:
            method = None
    if method is None and len(code.replace("-", "")) == 10 and _use_recovery_code(citizen, code):
        method = "recovery"
        record_event(citizen, "recovery_code_used", origin, left=count_recovery_codes(citizen) - 1)
    if method is None:
        record_event(citizen, "second_factor_failed", origin)
        db.session.commit()
        raise SecondFactorFailed()
    db.session.commit()
    return method


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(citizen: Citizen, secret: str) -> str:
    label = citizen.phone or citizen.email or citizen.public_id
    return _totp(secret).provisioning_uri(name=label)


def enable_totp(citizen: Citizen, secret: str, code: str, origin: Origin) -> list[str]:
    if not _check_totp(citizen, secret, code):
        raise SecondFactorFailed()
    citizen.totp_secret_encrypted = pii().encrypt(secret, field="totp")
    citizen.mfa_method = "totp"
    return _finish_enabling(citizen, "totp", origin)


def enable_sms_factor(citizen: Citizen, challenge_id: str, code: str, origin: Origin) -> list[str]:
    challenge = codes.get(challenge_id, "mfa_setup")
    if challenge.citizen_id != citizen.id or challenge.destination != citizen.phone:
        raise NotFound()
    codes.check(challenge, code)
    citizen.mfa_method = "sms"
    citizen.totp_secret_encrypted = None
    return _finish_enabling(citizen, "sms", origin)


def start_sms_setup(citizen: Citizen) -> CodeChallenge:
    if not citizen.phone or not citizen.phone_verified_at:
        raise ValidationError(_l("Add and confirm a mobile phone number first."))
    challenge, code = codes.issue(
        purpose="mfa_setup", channel=PHONE, destination=citizen.phone, citizen_id=citizen.id
    )
    db.session.commit()
    notifications.send_code(PHONE, citizen.phone, code, "mfa_setup")
    return challenge


def _finish_enabling(citizen: Citizen, method: str, origin: Origin) -> list[str]:
    recovery = regenerate_recovery_codes(citizen, commit=False)
    record_event(citizen, "mfa_enabled", origin, method=method)
    db.session.commit()
    notifications.tell_security_change(citizen, "mfa_on")
    return recovery


def regenerate_recovery_codes(citizen: Citizen, commit: bool = True) -> list[str]:
    """Replace all recovery codes; the plain codes are returned once, to be shown once."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.citizen_id == citizen.id))
    plain = []
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    for _ in range(int(current_app.config["RECOVERY_CODE_COUNT"])):
        raw = "".join(secrets.choice(alphabet) for _ in range(10))
        plain.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(citizen_id=citizen.id, code_hash=_recovery_hash(raw)))
    if commit:
        db.session.commit()
    return plain


def renew_recovery_codes(citizen: Citizen, password: str, origin: Origin) -> list[str]:
    if not citizen.mfa_method:
        raise ValidationError(_l("Turn on sign-in confirmation first."))
    if not verify_password(citizen.password_hash, password):
        raise InvalidCredentials(_l("The password is wrong."))
    plain = regenerate_recovery_codes(citizen, commit=False)
    record_event(citizen, "recovery_codes_renewed", origin)
    db.session.commit()
    return plain


def count_recovery_codes(citizen: Citizen) -> int:
    return db.session.execute(
        sa.select(sa.func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.citizen_id == citizen.id, RecoveryCode.used_at.is_(None))
    ).scalar_one()


def disable_second_factor(citizen: Citizen, password: str, origin: Origin) -> None:
    if not verify_password(citizen.password_hash, password):
        raise InvalidCredentials(_l("The password is wrong."))
    citizen.mfa_method = None
    citizen.totp_secret_encrypted = None
    citizen.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.citizen_id == citizen.id))
    record_event(citizen, "mfa_disabled", origin)
    db.session.commit()
    notifications.tell_security_change(citizen, "mfa_off")


# --- recovery and changes -----------------------------------------------------------


def start_recovery(contact: str) -> CodeChallenge:
    """Send a recovery code if the contact has an account; look the same if not."""
    channel, value = parse_contact(contact)
    citizen = find_by_contact(channel, value)
    challenge, code = codes.issue(
        purpose="recover",
        channel=channel,
        destination=value,
        citizen_id=citizen.id if citizen else None,
        deliverable=citizen is not None,
    )
    db.session.commit()
    if citizen is not None:
        with force_locale(citizen.locale):
            notifications.send_code(channel, value, code, "recover")
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
    citizen.password_hash = hash_password(password)
    citizen.password_changed_at = utcnow()
    citizen.failed_logins = 0
    citizen.lockout_count = 0
    citizen.locked_until = None
    challenge.completed_at = utcnow()
    record_event(citizen, "password_recovered", origin)
    db.session.commit()
    end_all_sessions(citizen.id)
    notifications.tell_security_change(citizen, "recovered")
    return citizen


def change_password(
    citizen: Citizen, current: str, new: str, origin: Origin, keep_session: str | None
) -> None:
    if not verify_password(citizen.password_hash, current):
        raise InvalidCredentials(_l("The current password is wrong."))
    check_password_policy(new, [citizen.phone, citizen.email, citizen.surname, citizen.given_name])
    citizen.password_hash = hash_password(new)
    citizen.password_changed_at = utcnow()
    record_event(citizen, "password_changed", origin)
    db.session.commit()
    end_all_sessions(citizen.id, except_public_id=keep_session)
    notifications.tell_security_change(citizen, "password")


def start_contact_change(citizen: Citizen, contact: str) -> CodeChallenge:
    channel, value = parse_contact(contact)
    if value in (citizen.phone, citizen.email):
        raise ValidationError(_l("This is already your contact."))
    owner = find_by_contact(channel, value)
    challenge, code = codes.issue(
        purpose="contact",
        channel=channel,
        destination=value,
        citizen_id=citizen.id,
        deliverable=owner is None,
    )
    db.session.commit()
    if owner is None:
        notifications.send_code(channel, value, code, "contact")
    else:
        notifications.tell_contact_taken(channel, value, owner.locale)
    return challenge


def confirm_contact_change(citizen: Citizen, public_id: str, code: str, origin: Origin) -> None:
    challenge = codes.get(public_id, "contact")
    if challenge.citizen_id != citizen.id:
        raise NotFound()
    codes.check(challenge, code)
    notifications.tell_security_change(citizen, "contact")  # reaches the old contact too
    now = utcnow()
    if challenge.channel == EMAIL:
        old, citizen.email, citizen.email_verified_at = citizen.email, challenge.destination, now
    else:
        old, citizen.phone, citizen.phone_verified_at = citizen.phone, challenge.destination, now
    challenge.completed_at = now
    record_event(
        citizen, "contact_changed", origin, channel=challenge.channel, had_previous=old is not None
    )
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise codes.CodeExpired() from exc


# --- sessions -----------------------------------------------------------------------


def list_sessions(citizen_id: int) -> list[sa.Row]:
    return list(
        db.session.execute(
            sa.select(web_session)
            .where(web_session.c.user_id == citizen_id)
            .order_by(web_session.c.last_seen_at.desc())
        )
    )


# Called with (citizen id, the OpenID Connect session ids) just before those sessions
# end, so rooms built on identity can act: the OpenID Provider revokes the sessions'
# tokens and tells their clients (back-channel logout). Identity knows none of them.
SESSIONS_ENDING: list[Callable[[int, list[str]], None]] = []


def announce_sessions_ending(citizen_id: int, sids: list[str | None]) -> None:
    """Tell every ``SESSIONS_ENDING`` listener; a failing listener is logged, never lets
    it keep a session alive."""
    sids = [sid for sid in sids if sid]
    if not sids:
        return
    for listener in SESSIONS_ENDING:
        try:
            listener(citizen_id, sids)
        except Exception:
            db.session.rollback()
            current_app.logger.exception("a listener failed while sessions were ending")


def _announce_ending(citizen_id: int, which: sa.ColumnElement[bool]) -> None:
    """Announce the sessions ``which`` selects; their ``sid`` lives in the JSON data."""
    data = db.session.execute(sa.select(web_session.c.data).where(which)).scalars()
    announce_sessions_ending(citizen_id, [json.loads(text or "{}").get("sid") for text in data])


def end_session(citizen: Citizen, public_id: str, origin: Origin) -> None:
    """End one of the citizen's own sessions; another person's session is "not found"."""
    which = sa.and_(web_session.c.user_id == citizen.id, web_session.c.public_id == public_id)
    _announce_ending(citizen.id, which)
    result = db.session.execute(sa.delete(web_session).where(which))
    if result.rowcount == 0:
        db.session.rollback()
        raise NotFound()
    record_event(citizen, "session_ended", origin)
    db.session.commit()


def sign_out_everywhere(citizen: Citizen, origin: Origin) -> None:
    record_event(citizen, "signed_out_everywhere", origin)
    db.session.commit()
    end_all_sessions(citizen.id)


def end_all_sessions(citizen_id: int, except_public_id: str | None = None) -> int:
    which = web_session.c.user_id == citizen_id
    if except_public_id:
        which = sa.and_(which, web_session.c.public_id != except_public_id)
    _announce_ending(citizen_id, which)
    result = db.session.execute(sa.delete(web_session).where(which))
    db.session.commit()
    return result.rowcount


def is_session_alive(citizen_id: int, sid: str) -> bool:
    """Whether the portal session ``sid`` of this citizen still exists and has not timed
    out: tokens issued in a session live no longer than the session itself."""
    rows = db.session.execute(
        sa.select(web_session).where(web_session.c.user_id == citizen_id)
    ).all()
    now = utcnow()
    for row in rows:
        if json.loads(row.data or "{}").get("sid") == sid:
            return not current_app.session_interface.is_expired(current_app, row, now)
    return False
