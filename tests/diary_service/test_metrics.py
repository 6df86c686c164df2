"""The diary's queue depths on ``/metrics`` (diary_service/metrics.py), read at scrape
time from the outboxes."""

from __future__ import annotations

from diary_service.extensions import db
from diary_service.messages import services as messages
from diary_service.metrics import NOTIFICATION_MAX_ATTEMPTS
from diary_service.models.federation import PortalMessage
from diary_service.models.messages import Notification
from shared.sessions import utcnow
from tests.diary_service.factories import person
from tests.observability_helpers import scrape


def test_the_diary_queue_depths_are_read_when_scraped(diary):
    parent = person("metrics-parent", "Иванова", "Мария")
    db.session.flush()
    now = utcnow()

    def notification(**fields):
        return Notification(person_id=parent.id, event="mark", channel="sms", body="…", **fields)

    db.session.add_all(
        [
            PortalMessage(event="x", target="portal", key="1", data={}, next_attempt_at=now),
            PortalMessage(event="x", target="portal", key="2", data={}, delivered_at=now),
            notification(),
            notification(attempts=NOTIFICATION_MAX_ATTEMPTS - 1),
            notification(sent_at=now),
            notification(attempts=NOTIFICATION_MAX_ATTEMPTS),  # given up
        ]
    )
    db.session.commit()
    samples = scrape(diary.test_client())
    assert samples.value("job_queue_depth", app="diary", queue="portal_message") == 1
    assert samples.value("job_queue_depth", app="diary", queue="notification") == 2
    assert "jobs" not in samples.label_values("job_queue_depth", "queue")  # no Redis here
    # The mirror of the rule in diary_service/messages/outbox.py.
    assert NOTIFICATION_MAX_ATTEMPTS == messages.MAX_ATTEMPTS
