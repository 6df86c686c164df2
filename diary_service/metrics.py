"""The diary's own metrics (the HTTP ones are in ``shared.metrics``).

``queue_depths`` is read when ``/metrics`` is scraped: the Celery queue's length in
Redis, the messages owed to the portal and the notifications not yet sent. The tables
are named through lightweight ``sa.table`` constructs, not the models, so that any room
may import this module for a counter of its own; ``tests/diary_service/test_metrics.py``
checks the counts against rows made with the models.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from prometheus_client.core import Metric

from diary_service.extensions import db
from shared.metrics import celery_queue_depth, outbox_depths, queue_depth_family

# diary_service.messages.services.MAX_ATTEMPTS: a notification that failed this many
# times is given up and waits no more (the test compares the two).
NOTIFICATION_MAX_ATTEMPTS = 8

_portal_message = sa.table("portal_message", sa.column("next_attempt_at"))
_notification = sa.table("notification", sa.column("sent_at"), sa.column("attempts"))
_count = sa.select(sa.func.count())

OUTBOXES = {
    # Messages to the portal (application statuses, answers) not yet delivered nor given up.
    "portal_message": _count.select_from(_portal_message).where(
        _portal_message.c.next_attempt_at.is_not(None)
    ),
    # E-mails and SMS not sent yet (quiet hours hold some back on purpose).
    "notification": _count.select_from(_notification).where(
        _notification.c.sent_at.is_(None),
        _notification.c.attempts < NOTIFICATION_MAX_ATTEMPTS,
    ),
}


def queue_depths() -> list[Metric]:
    """``job_queue_depth`` for ``/metrics`` (in the app context of the scrape)."""
    depths = {**celery_queue_depth(current_app), **outbox_depths(db.session, OUTBOXES)}
    return [queue_depth_family("diary", depths)]
