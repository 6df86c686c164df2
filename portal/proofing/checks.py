"""The machinery of registry checks, shared by every room that needs one.

A room registers a kind of check: which registry answers it, how to build what the
registry sees, and what to do with the answer. This module queues checks, sends them
(retrying with backoff while a registry is down), and applies signed answers exactly
once. It knows nothing of SNILS, passports or children.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.metrics import REGISTRY_ANSWERS
from portal.proofing import registry
from portal.proofing.models import FINAL, RegistryCallback, VerificationCheck
from shared.errors import NotFound, ValidationError
from shared.jobs import nudge
from shared.sessions import utcnow
from shared.signing import verify


@dataclass(frozen=True)
class CheckKind:
    registry: str
    subject: Callable[[VerificationCheck], dict[str, Any]]
    on_answer: Callable[[VerificationCheck], None]


KINDS: dict[str, CheckKind] = {}
SEND_CHECK = "portal.send_check"
RESEND_DUE_CHECKS = "portal.resend_due_checks"


def register_kind(
    kind: str,
    registry_name: str,
    subject: Callable[[VerificationCheck], dict[str, Any]],
    on_answer: Callable[[VerificationCheck], None],
) -> None:
    KINDS[kind] = CheckKind(registry_name, subject, on_answer)


def _same_target(kind: str, citizen_id: int, child_id: int | None):
    return sa.and_(
        VerificationCheck.citizen_id == citizen_id,
        VerificationCheck.kind == kind,
        VerificationCheck.child_id.is_(None)
        if child_id is None
        else VerificationCheck.child_id == child_id,
        VerificationCheck.status != "superseded",
    )


def latest_check(
    citizen_id: int, kind: str, child_id: int | None = None
) -> VerificationCheck | None:
    return db.session.execute(
        sa.select(VerificationCheck)
        .where(_same_target(kind, citizen_id, child_id))
        .order_by(VerificationCheck.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def start_check(
    citizen_id: int, kind: str, child_id: int | None = None, *, flush_only: bool = False
) -> VerificationCheck:
    """Queue a new check; an earlier check of the same thing is superseded, so its late
    answer changes nothing. With ``flush_only`` the caller commits and calls ``dispatch``."""
    db.session.execute(
        sa.update(VerificationCheck)
        .where(_same_target(kind, citizen_id, child_id))
        .values(status="superseded")
    )
    # Due at once: the job queued below normally sends it; if it cannot be queued (Redis
    # down), the periodic resend does. The claim in send_check sends it once either way.
    check = VerificationCheck(
        citizen_id=citizen_id,
        child_id=child_id,
        kind=kind,
        registry_code=KINDS[kind].registry,
        next_attempt_at=utcnow(),
    )
    db.session.add(check)
    if flush_only:
        db.session.flush()
        return check
    db.session.commit()
    dispatch(check)
    return check


def dispatch(check: VerificationCheck) -> None:
    nudge(SEND_CHECK, check.public_id)


def backoff(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s … capped at 10 minutes."""
    return timedelta(seconds=min(600, 10 * 2 ** max(0, attempts - 1)))


def send_check(public_id: str, now: datetime | None = None) -> str:
    """Hand a queued check to its registry. A registry that is down leaves it queued
    with the next attempt scheduled; it is never marked rejected for that."""
    check = db.session.execute(
        sa.select(VerificationCheck).where(VerificationCheck.public_id == public_id)
    ).scalar_one_or_none()
    if check is None or check.status != "queued":
        return "skipped"
    # The attempt is claimed by one UPDATE that counts it and moves the next attempt
    # past the registry's time-out (as a failure would): a job and a resend, or two
    # resends, at the same moment send the check once.
    now = now or utcnow()
    claimed = db.session.execute(
        sa.update(VerificationCheck)
        .where(
            VerificationCheck.id == check.id,
            VerificationCheck.status == "queued",
            sa.or_(
                VerificationCheck.next_attempt_at.is_(None),
                VerificationCheck.next_attempt_at <= now,
            ),
        )
        .values(
            attempts=VerificationCheck.attempts + 1,
            next_attempt_at=now + backoff(check.attempts + 1),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        db.session.rollback()
        return "skipped"
    subject = KINDS[check.kind].subject(check)
    # No transaction stays open during the call: a fast registry answers (the callback,
    # another request) before ``submit`` returns, and must find the check as it is.
    db.session.commit()
    try:
        registry.submit(check.registry_code, check.public_id, subject)
    except registry.RegistryUnavailable as exc:
        check.last_error = str(exc)[:200]
        check.next_attempt_at = utcnow() + backoff(check.attempts)
        db.session.commit()
        current_app.logger.info(
            "registry %s unavailable; check %s retried later", check.registry_code, check.id
        )
        return "retry"
    # Only a check still queued becomes pending: one the registry has already answered
    # keeps its answer (an unconditional write here was a lost update).
    db.session.execute(
        sa.update(VerificationCheck)
        .where(VerificationCheck.id == check.id, VerificationCheck.status == "queued")
        .values(status="pending", sent_at=utcnow(), next_attempt_at=None, last_error=None)
    )
    db.session.commit()
    return "sent"


def resend_due_checks(now=None, limit: int = 100) -> int:
    """Send every queued check whose next attempt is due (run periodically)."""
    now = now or utcnow()
    due = list(
        db.session.execute(
            sa.select(VerificationCheck.public_id)
            .where(
                VerificationCheck.status == "queued",
                VerificationCheck.next_attempt_at.isnot(None),
                VerificationCheck.next_attempt_at <= now,
            )
            .order_by(VerificationCheck.next_attempt_at)
            .limit(limit)
        ).scalars()
    )
    return sum(1 for public_id in due if send_check(public_id, now) == "sent")


def take_callback(body: bytes, headers) -> str:
    """Apply a registry's signed answer (``SignatureError`` if forged or stale).
    A replayed callback, or a second answer to a check already answered, changes nothing."""
    payload = verify(current_app.config["REGISTRY_KEY"], body, headers)
    callback_id = str(payload.get("callback_id") or "")[:64]
    outcome = payload.get("outcome")
    if not callback_id or outcome not in ("approved", "rejected", "delivered"):
        raise ValidationError(_l("The answer is malformed."))
    if db.session.get(RegistryCallback, callback_id) is not None:
        return "replayed"
    check = db.session.execute(
        sa.select(VerificationCheck).where(
            VerificationCheck.public_id == str(payload.get("request_id"))
        )
    ).scalar_one_or_none()
    if check is None or check.registry_code != payload.get("registry"):
        raise NotFound()
    db.session.add(RegistryCallback(callback_id=callback_id, check_id=check.id))
    try:
        db.session.flush()
    except IntegrityError:  # the same callback at the same moment: that one applies it
        db.session.rollback()
        return "replayed"
    rejected = outcome == "rejected"
    # One UPDATE that matches only a check not answered yet: of two answers arriving
    # at once one applies (and the citizen is told once), the other finds it final.
    answered = db.session.execute(
        sa.update(VerificationCheck)
        .where(VerificationCheck.id == check.id, VerificationCheck.status.not_in(FINAL))
        .values(
            status="rejected" if rejected else "approved",
            reason=str(payload.get("reason") or "")[:40] or None if rejected else None,
            reason_text=str(payload.get("reason_text") or "")[:300] or None if rejected else None,
            answered_at=utcnow(),
            next_attempt_at=None,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if not answered:
        return "already_answered"
    db.session.refresh(check)
    REGISTRY_ANSWERS.labels(check.registry_code, check.status).inc()
    KINDS[check.kind].on_answer(check)
    return check.status
