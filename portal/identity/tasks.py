"""Jobs of the identity room."""

from __future__ import annotations

from celery import shared_task

from shared.notifications import DeliveryError, send_email, send_sms


@shared_task(
    name="portal.deliver_message",
    autoretry_for=(DeliveryError,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def deliver_message(channel: str, to: str, subject: str, body: str) -> None:
    """Send one message; a relay or gateway that is down is retried with backoff."""
    if channel == "email":
        send_email(to, subject, body)
    else:
        send_sms(to, body)
