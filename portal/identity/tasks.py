"""Jobs of the identity room, registered on the portal's Celery by ``create_app``."""

from __future__ import annotations

from celery import Celery

from shared.notifications import DeliveryError, send_email, send_sms

DELIVER_MESSAGE = "portal.deliver_message"


def deliver_message(channel: str, to: str, subject: str, body: str) -> None:
    """Send one message; a relay or gateway that is down is retried with backoff."""
    if channel == "email":
        send_email(to, subject, body)
    else:
        send_sms(to, body)


def register_tasks(celery: Celery) -> None:
    celery.task(
        name=DELIVER_MESSAGE,
        autoretry_for=(DeliveryError,),
        retry_backoff=5,
        retry_backoff_max=600,
        retry_jitter=True,
        max_retries=8,
    )(deliver_message)
