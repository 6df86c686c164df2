"""One-time codes sent by SMS or e-mail: issue, resend, verify.

Six digits from ``secrets``; stored as HMAC-SHA256 under ``CODE_KEY`` (never plain);
valid ``CODE_LIFETIME`` seconds (10 minutes), ``CODE_MAX_ATTEMPTS`` tries (5), single
use; a resend waits ``CODE_RESEND_INTERVAL`` seconds and is allowed ``CODE_MAX_SENDS``
times. Each resend replaces the code and restores the attempts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any, NoReturn

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.attributes import set_committed_value

from portal.extensions import db
from portal.identity.models import CodeChallenge
from shared.errors import DomainError, NotFound, Throttled
from shared.sessions import utcnow
from shared.validators import ascii_digits


class CodeError(DomainError):
    code = "invalid_code"


class WrongCode(CodeError):
    default_message = _l("The code is wrong. Attempts left: %(left)d.")


class CodeExpired(CodeError):
    default_message = _l("The code has expired. Ask for a new one.")


class CodeUsed(CodeError):
    default_message = _l("This code has already been used. Ask for a new one.")


class CodeAttemptsExhausted(CodeError):
    default_message = _l("Too many wrong codes. Ask for a new one.")


class ResendTooSoon(Throttled):
    default_message = _l("A new code can be sent in %(seconds)d seconds.")


class ResendLimit(Throttled):
    default_message = _l("The code has been sent too many times. Start again later.")


def _hash(code: str) -> str:
    key = current_app.config["CODE_KEY"].encode()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def _lifetime() -> timedelta:
    return timedelta(seconds=int(current_app.config["CODE_LIFETIME"]))


def issue(
    *,
    purpose: str,
    channel: str,
    destination: str,
    citizen_id: int | None = None,
    payload: dict[str, Any] | None = None,
    deliverable: bool = True,
) -> tuple[CodeChallenge, str]:
    """Create a challenge and return it with the plain code (for the caller to send)."""
    code = new_code()
    challenge = CodeChallenge(
        purpose=purpose,
        channel=channel,
        destination=destination,
        citizen_id=citizen_id,
        payload=payload or {},
        deliverable=deliverable,
        code_hash=_hash(code),
        expires_at=utcnow() + _lifetime(),
    )
    db.session.add(challenge)
    db.session.flush()
    return challenge, code


def get(public_id: str | None, purpose: str) -> CodeChallenge:
    if not public_id:
        raise NotFound()
    challenge = db.session.execute(
        sa.select(CodeChallenge).where(
            CodeChallenge.public_id == public_id, CodeChallenge.purpose == purpose
        )
    ).scalar_one_or_none()
    if challenge is None:
        raise NotFound()
    return challenge


def seconds_until_resend(challenge: CodeChallenge) -> int:
    interval = timedelta(seconds=int(current_app.config["CODE_RESEND_INTERVAL"]))
    wait = challenge.last_sent_at + interval - utcnow()
    return max(0, int(wait.total_seconds() + 0.999))


def reissue(challenge: CodeChallenge) -> str:
    """Replace the code for a resend; raises when it is too soon or too often.

    One UPDATE checks and counts the send, so two simultaneous resends cannot both pass
    the limit."""
    if challenge.verified_at is not None:
        raise CodeUsed()
    wait = seconds_until_resend(challenge)
    if wait:
        raise ResendTooSoon(seconds=wait)
    now = utcnow()
    code = new_code()
    sent = db.session.execute(
        sa.update(CodeChallenge)
        .where(
            CodeChallenge.id == challenge.id,
            CodeChallenge.verified_at.is_(None),
            CodeChallenge.send_count < int(current_app.config["CODE_MAX_SENDS"]),
            CodeChallenge.last_sent_at
            <= now - timedelta(seconds=int(current_app.config["CODE_RESEND_INTERVAL"])),
        )
        .values(
            code_hash=_hash(code),
            expires_at=now + _lifetime(),
            attempts=0,
            send_count=CodeChallenge.send_count + 1,
            last_sent_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not sent:
        db.session.rollback()
        if challenge.send_count >= int(current_app.config["CODE_MAX_SENDS"]):
            raise ResendLimit()
        raise ResendTooSoon(seconds=seconds_until_resend(challenge) or 1)
    db.session.refresh(challenge)
    return code


def try_code(challenge: CodeChallenge, code: str) -> bool:
    """One entry of ``code``: counted first, then compared.

    True for the right code, which is consumed (the caller commits); False for a wrong
    one, committed before returning. A used, expired or exhausted challenge raises
    without comparing. Counting and consuming are single UPDATEs, so simultaneous
    entries get no more than ``CODE_MAX_ATTEMPTS`` comparisons and one success.
    """
    digits = ascii_digits(code or "")
    if challenge.verified_at is not None:
        raise CodeUsed()
    if utcnow() > challenge.expires_at:
        raise CodeExpired()
    current_hash = db.session.execute(
        sa.update(CodeChallenge)
        .where(
            CodeChallenge.id == challenge.id,
            CodeChallenge.verified_at.is_(None),
            CodeChallenge.attempts < int(current_app.config["CODE_MAX_ATTEMPTS"]),
        )
        .values(attempts=CodeChallenge.attempts + 1)
        # The code as it is now: a resend since the challenge was read replaced it.
        .returning(CodeChallenge.code_hash)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if current_hash is None:
        db.session.commit()
        db.session.refresh(challenge)
        raise CodeUsed() if challenge.verified_at is not None else CodeAttemptsExhausted()
    if not hmac.compare_digest(_hash(digits), current_hash):
        db.session.commit()
        return False
    now = utcnow()
    consumed = db.session.execute(
        sa.update(CodeChallenge)
        .where(CodeChallenge.id == challenge.id, CodeChallenge.verified_at.is_(None))
        .values(verified_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not consumed:
        raise CodeUsed()
    set_committed_value(challenge, "verified_at", now)
    return True


def complete(challenge: CodeChallenge) -> bool:
    """Mark a confirmed challenge completed (the account made, the password set), in one
    UPDATE that matches only once: False if another request completed it first. Not
    committed: the caller's work commits with it, and holds the row until then."""
    now = utcnow()
    completed = db.session.execute(
        sa.update(CodeChallenge)
        .where(
            CodeChallenge.id == challenge.id,
            CodeChallenge.verified_at.is_not(None),
            CodeChallenge.completed_at.is_(None),
        )
        .values(completed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if completed:
        set_committed_value(challenge, "completed_at", now)
    return bool(completed)


def refuse(challenge: CodeChallenge) -> NoReturn:
    """The answer to a wrong code: how many attempts are left, or none."""
    left = int(current_app.config["CODE_MAX_ATTEMPTS"]) - challenge.attempts
    if left <= 0:
        raise CodeAttemptsExhausted()
    raise WrongCode(left=left)


def check(challenge: CodeChallenge, code: str) -> None:
    """Accept ``code`` once. Every refusal is committed (attempts count) before raising."""
    if not try_code(challenge, code):
        refuse(challenge)
