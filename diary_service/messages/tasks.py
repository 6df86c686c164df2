"""Jobs of the messages room, registered on the diary's Celery by ``init_notifications``."""

from __future__ import annotations

from celery import Celery

from diary_service.messages import services

SEND_DUE_NOTIFICATIONS = "diary.send_due_notifications"


def register_tasks(celery: Celery) -> None:
    celery.task(name=SEND_DUE_NOTIFICATIONS)(services.send_due_notifications)
    # Production (Celery beat): the outbox is sent every half minute; quiet hours and
    # failed attempts wait in it until their time.
    celery.conf.beat_schedule = {
        **(celery.conf.beat_schedule or {}),
        "send-due-notifications": {"task": SEND_DUE_NOTIFICATIONS, "schedule": 30.0},
    }
