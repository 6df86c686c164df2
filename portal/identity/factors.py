"""The second factor: a code by SMS, an authenticator app (TOTP) or a one-time recovery
code; setting up the app and the recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pyotp
import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.attributes import set_committed_value

from portal.extensions import db
from portal.identity import codes, lockout, notifications
from portal.identity.models import (
    Citizen,
    CodeChallenge,
    RecoveryCode,
)
from portal.identity.security_log import Origin, record_event
from portal.identity.services import PHONE
from portal.metrics import SIGN_INS
from shared.crypto import unseal
from shared.errors import DomainError, NotFound, ValidationError
from shared.sessions import utcnow
from shared.validators import ascii_digits


class SecondFactorFailed(DomainError):
    code = "invalid_code"
    default_message = _l("The code is wrong or has expired.")


def start_sms_factor(citizen: Citizen, purpose: str = "login") -> CodeChallenge:
    """Send a sign-in (or re-authentication, ``purpose="reauth"``) code by SMS."""
    if not citizen.phone:
        raise ValidationError(_l("Add a mobile phone number first."))
    challenge, code = codes.issue(
        purpose=purpose, channel=PHONE, destination=citizen.phone, citizen_id=citizen.id
    )
    db.session.commit()
    notifications.send_code(PHONE, citizen.phone, code, purpose)
    return challenge


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, issuer=current_app.config["TOTP_ISSUER"])


def check_totp(citizen: Citizen, secret: str, code: str) -> bool:
    """A TOTP code is accepted once: the step it belongs to may not be used again.

    The step is claimed by one UPDATE (``… WHERE totp_last_step < :step``), so the same
    code sent twice at once passes once."""
    code = ascii_digits(code)
    totp = _totp(secret)
    now = utcnow()
    for drift in (0, -1, 1):  # one step of clock drift either way (RFC 6238 §5.2)
        step = totp.timecode(now) + drift
        if hmac.compare_digest(totp.generate_otp(step), code):
            claimed = db.session.execute(
                sa.update(Citizen)
                .where(
                    Citizen.id == citizen.id,
                    sa.or_(Citizen.totp_last_step.is_(None), Citizen.totp_last_step < step),
                )
                .values(totp_last_step=step)
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed:
                set_committed_value(citizen, "totp_last_step", step)
            return bool(claimed)
    return False


def _recovery_hash(code: str) -> str:
    key = current_app.config["CODE_KEY"].encode()
    normalised = code.replace("-", "").replace(" ", "").lower()
    return hmac.new(key, b"recovery:" + normalised.encode(), hashlib.sha256).hexdigest()


def _looks_like_recovery_code(code: str) -> bool:
    return len(code.replace("-", "").replace(" ", "")) == 10


def _use_recovery_code(citizen: Citizen, code: str) -> bool:
    """Consume a recovery code in one UPDATE: used once, even by simultaneous requests."""
    used = db.session.execute(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.citizen_id == citizen.id,
            RecoveryCode.code_hash == _recovery_hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(used)


def verify_second_factor(
    citizen: Citizen, code: str, challenge_id: str | None, origin: Origin, purpose: str = "login"
) -> str:
    """Return the method that passed (``sms``, ``otp`` or ``recovery``) or raise
    ``SecondFactorFailed``; every wrong code counts toward the account's lockout, and
    during a lockout no code is checked (the same answer)."""
    code = (code or "").strip()
    passed: list[str] = []

    def check() -> bool:
        if _looks_like_recovery_code(code):
            if _use_recovery_code(citizen, code):
                passed.append("recovery")
        elif citizen.mfa_method == "totp" and citizen.totp_secret_encrypted:
            secret = unseal(citizen, "totp_secret_encrypted")
            if check_totp(citizen, secret, code):
                passed.append("otp")
        elif citizen.mfa_method == "sms" and challenge_id:
            try:
                challenge = codes.get(challenge_id, purpose)
                if challenge.citizen_id == citizen.id and codes.try_code(challenge, code):
                    passed.append("sms")
            except (codes.CodeError, NotFound):
                pass
        return bool(passed)

    try:
        right = lockout.guess(
            citizen, origin, check, failure="second_factor_failed", completes=True
        )
    except lockout.AccountLocked as locked:
        SIGN_INS.labels("locked").inc()
        raise SecondFactorFailed() from locked
    if not right:
        SIGN_INS.labels("second_factor_failed").inc()
        raise SecondFactorFailed()
    if passed == ["recovery"]:
        record_event(citizen, "recovery_code_used", origin, left=count_recovery_codes(citizen))
    db.session.commit()
    return passed[0]


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(citizen: Citizen, secret: str) -> str:
    label = citizen.phone or citizen.email or citizen.public_id
    return _totp(secret).provisioning_uri(name=label)


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


def count_recovery_codes(citizen: Citizen) -> int:
    return db.session.execute(
        sa.select(sa.func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.citizen_id == citizen.id, RecoveryCode.used_at.is_(None))
    ).scalar_one()
