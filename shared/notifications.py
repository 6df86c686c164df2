"""Outgoing messages: e-mail over SMTP and SMS through a gateway.

The SMS gateway speaks a small HTTP JSON protocol (``POST {url}`` with ``to`` and
``text``); in the embedded default and in tests that gateway is the simulator's dev
inbox, in production an operator's gateway behind the same interface. Message bodies
carry codes: they are never logged.
"""

from __future__ import annotations

import json
import smtplib
import urllib.request
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app

from shared.tracing import outgoing_headers


class DeliveryError(RuntimeError):
    """The relay or gateway did not accept the message; the job retries."""


def send_email(to: str, subject: str, body: str) -> None:
    cfg = current_app.config
    message = EmailMessage()
    message["From"] = cfg["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=cfg["MAIL_FROM"].rsplit("@", 1)[-1].strip(">"))
    message.set_content(body)
    try:
        with smtplib.SMTP(cfg["SMTP_HOST"], int(cfg["SMTP_PORT"]), timeout=10) as smtp:
            if cfg.get("SMTP_STARTTLS"):
                smtp.starttls()
            if cfg.get("SMTP_USERNAME"):
                smtp.login(cfg["SMTP_USERNAME"], cfg.get("SMTP_PASSWORD", ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP delivery failed: {type(exc).__name__}") from exc


def send_sms(to: str, text: str) -> None:
    cfg = current_app.config
    payload = json.dumps({"to": to, "text": text, "sender": cfg.get("SMS_SENDER", "")}).encode()
    req = urllib.request.Request(  # noqa: S310 - the URL is operator configuration
        cfg["SMS_GATEWAY_URL"],
        data=payload,
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {cfg.get('SMS_GATEWAY_TOKEN', '')}",
            **outgoing_headers(),
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
            if resp.status >= 300:
                raise DeliveryError(f"SMS gateway answered {resp.status}")
    except OSError as exc:
        raise DeliveryError(f"SMS gateway unreachable: {type(exc).__name__}") from exc
