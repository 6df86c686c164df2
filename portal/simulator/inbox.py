"""Dev inboxes: the SMS gateway endpoint, the SMTP relay, a page and a JSON API to read them.

(The ``serve`` command that starts the relay lives in ``portal.simulator.cli``.)
"""

from __future__ import annotations

import email
import email.policy
import hmac

import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Blueprint, Flask, current_app, jsonify, render_template, request
from flask_babel import gettext

from portal.simulator.models import InboxMessage, db
from shared.errors import ValidationError
from shared.validators import normalize_phone
from shared.web import int_arg

bp = Blueprint("inbox", __name__)


def store(
    channel: str, recipient: str, body: str, subject: str = "", sender: str = ""
) -> InboxMessage:
    message = InboxMessage(
        channel=channel,
        recipient=recipient[:254],
        body=body,
        subject=subject[:300],
        sender=sender[:254],
    )
    db.session.add(message)
    db.session.commit()
    return message


def _canonical_recipient(text: str) -> str:
    """Find "+7 916 765-43-21" as the gateway stored it ("+79167654321")."""
    text = text.strip()
    if "@" in text:
        return text.lower()
    try:
        return normalize_phone(text)
    except ValueError:
        return text


def _messages(channel: str | None, recipient: str | None, limit: int = 200) -> list[InboxMessage]:
    query = sa.select(InboxMessage).order_by(InboxMessage.id.desc()).limit(limit)
    if channel:
        query = query.where(InboxMessage.channel == channel)
    if recipient:
        query = query.where(InboxMessage.recipient == _canonical_recipient(recipient))
    return list(db.session.execute(query).scalars())


@bp.get("/")
@bp.get("/inbox")
def inbox():
    channel = request.args.get("channel") or None
    recipient = request.args.get("to") or None
    return render_template(
        "simulator/inbox.html",
        messages=_messages(channel, recipient),
        channel=channel,
        recipient=recipient,
    )


@bp.get("/api/inbox")
def inbox_api():
    """``GET /api/inbox?channel=sms&to=%2B79161234567`` → newest first."""
    limit = min(int_arg("limit", 50) or 50, 500)
    return jsonify(
        messages=[
            m.as_dict()
            for m in _messages(request.args.get("channel"), request.args.get("to"), limit)
        ]
    )


@bp.delete("/api/inbox")
def inbox_clear():
    db.session.execute(sa.delete(InboxMessage))
    db.session.commit()
    return "", 204


@bp.post("/sms-gateway/messages")
def sms_gateway():
    """The SMS gateway: ``{"to": "+7…", "text": "…"}`` with an optional bearer token."""
    token = current_app.config.get("SMS_GATEWAY_TOKEN") or ""
    if token:
        given = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given, token):
            return jsonify(error="invalid_token", error_description="bad gateway token"), 401
    data = request.get_json(silent=True) or {}
    to, text = str(data.get("to") or ""), str(data.get("text") or "")
    if not to.startswith("+") or not text:
        raise ValidationError(gettext("An SMS needs a recipient in +7… form and a text."))
    message = store("sms", to, text, sender=str(data.get("sender") or ""))
    return jsonify(id=message.id, status="accepted"), 202


class InboxHandler:
    """aiosmtpd handler: every accepted e-mail goes to the inbox, one row per recipient."""

    def __init__(self, app: Flask):
        self.app = app

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        part = parsed.get_body(preferencelist=("plain", "html"))
        body = part.get_content() if part is not None else ""
        with self.app.app_context():
            for rcpt in envelope.rcpt_tos:
                store(
                    "email",
                    rcpt.lower(),
                    body,
                    subject=str(parsed.get("Subject", "")),
                    sender=envelope.mail_from or "",
                )
        return "250 Message accepted for delivery"


def start_smtp(app: Flask, host: str, port: int) -> Controller:
    controller = Controller(InboxHandler(app), hostname=host, port=port)
    controller.start()
    return controller
