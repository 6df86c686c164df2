"""Sending the notifications' outbox: what is due, with a growing pause after each
failed attempt, until MAX_ATTEMPTS.

Each attempt is claimed in the database before anything is sent: one UPDATE sets
``claimed_at`` and ``claimed_by`` on a row that is due, unsent and not claimed by a live
sender, and only the sender whose UPDATE matched sends. The claim ends when the attempt
ends (``sent_at`` on success, the next try's time on failure). A job that runs twice (a
Celery message redelivered after Redis or a worker went away, two beats, a slow batch
overlapping the next) finds the row claimed or sent and leaves it; a sender that died
mid-send leaves a claim that is taken over after ``CLAIM_LEASE``.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from diary_service.extensions import db
from diary_service.messages.base import MAX_ATTEMPTS
from diary_service.models.auth import DiaryPerson
from diary_service.models.messages import Notification
from shared.notifications import DeliveryError, send_email, send_sms
from shared.sessions import utcnow

# Longer than any send can take (SMTP and the SMS gateway time out after 10 s per step):
# a claim older than this belongs to a sender that is gone.
CLAIM_LEASE = timedelta(minutes=5)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failed attempt, capped at an hour."""
    return timedelta(seconds=min(3600, 60 * 2 ** max(0, attempts - 1)))


def sender_name() -> str:
    """Who claims: the host and process, and a random part for each attempt."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        Notification.sent_at.is_(None),
        Notification.send_after <= now,
        Notification.attempts < MAX_ATTEMPTS,
        sa.or_(Notification.claimed_at.is_(None), Notification.claimed_at < now - CLAIM_LEASE),
    )


def send_due_notifications(now: datetime | None = None, limit: int = 100) -> int:
    """Send the due, unsent, unclaimed notifications (oldest first); return how many
    went out. Run periodically: by Celery beat, or ``flask notifications send --loop``.
    Without ``now`` each claim reads the clock at its own moment, not the batch's."""
    due = list(
        db.session.execute(
            sa.select(Notification.id)
            .where(_claimable(now or utcnow()))
            .order_by(Notification.send_after, Notification.id)
            .limit(limit)
        ).scalars()
    )
    db.session.commit()
    return sum(1 for notification_id in due if send_notification(notification_id, now))


def claim(notification_id: int, now: datetime, sender: str) -> int | None:
    """Claim one notification for ``sender`` by one atomic UPDATE; its attempt number,
    or None when it is not due, already sent, or claimed by a live sender."""
    attempts = db.session.execute(
        sa.update(Notification)
        .where(Notification.id == notification_id, _claimable(now))
        .values(attempts=Notification.attempts + 1, claimed_at=now, claimed_by=sender)
        .returning(Notification.attempts)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    db.session.commit()
    return attempts


def _end_attempt(notification_id: int, sender: str, **values: object) -> None:
    """Record how the attempt ended and release the claim, if it is still ours (a claim
    taken over after the lease belongs to the sender that took it)."""
    db.session.execute(
        sa.update(Notification)
        .where(Notification.id == notification_id, Notification.claimed_by == sender)
        .values(claimed_at=None, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def send_notification(notification_id: int, now: datetime | None = None) -> bool:
    """One attempt at one notification, if it is due and nobody else is sending it."""
    now = now or utcnow()
    sender = sender_name()
    attempts = claim(notification_id, now, sender)
    if attempts is None:
        return False
    notification = db.session.get(Notification, notification_id)
    person = db.session.get(DiaryPerson, notification.person_id)
    to = person.email if notification.channel == "email" else person.phone
    if not to:
        # The contact was withdrawn at the portal since it was queued: nothing to retry.
        _end_attempt(
            notification_id,
            sender,
            attempts=MAX_ATTEMPTS,
            last_error=f"no {notification.channel} contact any more",
        )
        return False
    try:
        if notification.channel == "email":
            send_email(to, notification.subject, notification.body)
        else:
            send_sms(to, notification.body)
    except Exception as exc:
        if isinstance(exc, DeliveryError):
            # The errors name the failure, never the address or the text.
            error = str(exc)[:300]
            current_app.logger.info("notification %s not sent: %s", notification_id, exc)
        else:  # a misconfigured gateway must not stop the other sends
            error = f"unexpected error: {type(exc).__name__}"[:300]
            current_app.logger.exception("notification %s failed", notification_id)
        _end_attempt(notification_id, sender, last_error=error, send_after=now + backoff(attempts))
        return False
    # Sent: recorded even if the claim was taken over meanwhile (it did go out).
    db.session.execute(
        sa.update(Notification)
        .where(Notification.id == notification_id, Notification.sent_at.is_(None))
        .values(sent_at=utcnow(), last_error="", claimed_at=None, claimed_by=sender)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return True
