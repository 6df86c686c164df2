"""Sending the notifications' outbox: what is due, with a growing pause after each
failed attempt, until MAX_ATTEMPTS."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from diary_service.extensions import db
from diary_service.messages.base import MAX_ATTEMPTS
from diary_service.models.auth import DiaryPerson
from diary_service.models.messages import Notification
from shared.notifications import DeliveryError, send_email, send_sms
from shared.sessions import utcnow


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failed attempt, capped at an hour."""
    return timedelta(seconds=min(3600, 60 * 2 ** max(0, attempts - 1)))


def send_due_notifications(now: datetime | None = None, limit: int = 100) -> int:
    """Send the due, unsent notifications (oldest first); return how many went out.
    Run periodically: by Celery beat, or ``flask notifications send --loop``."""
    now = now or utcnow()
    due = list(
        db.session.execute(
            sa.select(Notification.id)
            .where(
                Notification.sent_at.is_(None),
                Notification.send_after <= now,
                Notification.attempts < MAX_ATTEMPTS,
            )
            .order_by(Notification.send_after, Notification.id)
            .limit(limit)
        ).scalars()
    )
    return sum(1 for notification_id in due if send_notification(notification_id, now))


def send_notification(notification_id: int, now: datetime | None = None) -> bool:
    """One attempt at one notification, if it is due. The attempt is claimed first
    (attempts + 1 and the next try pushed back) by one UPDATE that matches only a due,
    unsent row: two senders never both send it (the second finds it pushed back, even
    when it reads the row after the first's claim), and a sender that dies mid-way does
    not make it go out again at once."""
    now = now or utcnow()
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.sent_at is not None:
        return False
    attempts = notification.attempts
    claimed = db.session.execute(
        sa.update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.sent_at.is_(None),
            Notification.send_after <= now,
            Notification.attempts == attempts,
        )
        .values(attempts=attempts + 1, send_after=now + backoff(attempts + 1))
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if not claimed:
        return False
    person = db.session.get(DiaryPerson, notification.person_id)
    to = person.email if notification.channel == "email" else person.phone
    if not to:
        # The contact was withdrawn at the portal since it was queued: nothing to retry.
        notification.attempts = MAX_ATTEMPTS
        notification.last_error = f"no {notification.channel} contact any more"
        db.session.commit()
        return False
    try:
        if notification.channel == "email":
            send_email(to, notification.subject, notification.body)
        else:
            send_sms(to, notification.body)
    except DeliveryError as exc:
        # The errors name the failure, never the address or the text.
        notification.last_error = str(exc)[:300]
        db.session.commit()
        current_app.logger.info("notification %s not sent: %s", notification.id, exc)
        return False
    except Exception as exc:  # a misconfigured gateway must not stop the other sends
        notification.last_error = f"unexpected error: {type(exc).__name__}"[:300]
        db.session.commit()
        current_app.logger.exception("notification %s failed", notification.id)
        return False
    notification.sent_at = utcnow()
    notification.last_error = ""
    db.session.commit()
    return True
