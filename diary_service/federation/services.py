"""What the diary exchanges with the portal besides OpenID Connect.

In (portal → diary): ``receive`` checks the portal's signed message (shared/federation.py)
with the keys the diary already caches for sign-in and hands it to the ``handles``
handler of its event. Handlers are idempotent: the portal retries after a lost answer.

Out (diary → portal): ``send_to_portal`` writes a ``PortalMessage`` and tries it at once
as a job; ``deliver_due`` (Celery beat in production, ``flask --app diary_service
federation send --loop N`` in the dev stack) retries what failed, 10 s doubling to 10
minutes, for ``GIVE_UP_AFTER``. The diary authenticates as its OAuth client (HTTP Basic
with ``OIDC_CLIENT_ID`` and ``OIDC_CLIENT_SECRET``).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from celery import Celery
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from diary_service.auth import oidc
from diary_service.extensions import db
from diary_service.models.federation import PortalMessage
from diary_service.models.school import School
from shared import federation
from shared.errors import DomainError
from shared.jobs import nudge
from shared.sessions import utcnow

DELIVER = "diary.federation_deliver"
DELIVER_DUE = "diary.federation_deliver_due"
# A status the portal has not taken in three days is given up (and logged): the citizen
# still sees the outcome in the diary itself.
GIVE_UP_AFTER = timedelta(days=3)
PORTAL_TARGET = "portal"

handles = federation.Handlers()


class InvalidMessage(DomainError):
    status = 400
    code = "invalid_request"
    default_message = _l("The message is not valid.")


class UnknownEvent(DomainError):
    status = 400
    code = "invalid_request"
    default_message = _l("Unknown event.")


# --- in ---------------------------------------------------------------------------------


def receive(token: str | None) -> dict[str, Any]:
    """Check the portal's message and answer it with its handler's answer.
    ``InvalidMessage`` for a message not signed by the portal for this diary;
    ``oidc.PortalUnavailable`` when the portal's keys cannot be fetched."""
    try:
        event = federation.read_event(
            token,
            oidc.portal_keys,
            issuer=oidc.issuer(),
            audience=current_app.config["OIDC_CLIENT_ID"],
            leeway=int(current_app.config["OIDC_CLOCK_SKEW"]),
        )
    except federation.InvalidFederationMessage as error:
        current_app.logger.warning("federation message refused: %s", error)
        raise InvalidMessage() from error
    handler = handles.get(event.name)
    if handler is None:
        raise UnknownEvent()
    return handler(event.data)


def school_directory() -> list[dict[str, Any]]:
    """The region's schools as the portal's application form lists them."""
    schools = db.session.execute(sa.select(School).order_by(School.name, School.id)).scalars()
    return [
        {
            "id": school.id,
            "name": school.name,
            "short_name": school.short_name,
            "address": school.address or None,
        }
        for school in schools
    ]


# --- out --------------------------------------------------------------------------------


def send_to_portal(event: str, key: str, data: dict[str, Any]) -> PortalMessage:
    """Owe ``event`` with ``data`` to the portal: write the message, commit (with whatever
    the caller changed in this transaction) and try it at once. Idempotent by
    ``(event, key)``: a message already queued under that key is returned as it is, so
    a key names one state (``f"{id}:{status}"``), not one object."""
    existing = _queued(event, key)
    if existing is not None:
        db.session.commit()
        return existing
    message = PortalMessage(
        event=event, target=PORTAL_TARGET, key=key, data=data, next_attempt_at=utcnow()
    )
    db.session.add(message)
    try:
        db.session.commit()
    except IntegrityError:  # queued by another process at the same moment
        db.session.rollback()
        return _queued(event, key)
    nudge(DELIVER, message.id)
    return message


def _queued(event: str, key: str) -> PortalMessage | None:
    return db.session.execute(
        sa.select(PortalMessage).where(
            PortalMessage.event == event,
            PortalMessage.target == PORTAL_TARGET,
            PortalMessage.key == key,
        )
    ).scalar_one_or_none()


def _send(message: PortalMessage) -> dict[str, Any]:
    config = current_app.config
    body = json.dumps({"event": message.event, "data": message.data}, ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Authorization": federation.basic_auth(
            config["OIDC_CLIENT_ID"], config["OIDC_CLIENT_SECRET"]
        ),
    }
    return federation.post(
        oidc.issuer() + "/federation/events", body, headers, float(config["OIDC_TIMEOUT"])
    )


def deliver(message_id: int) -> str:
    """One attempt at a queued message: ``delivered``, ``retry``, ``gave_up`` or
    ``skipped``."""
    message = db.session.get(PortalMessage, message_id)
    if message is None:
        return "skipped"
    attempt = federation.record_attempt(message, _send, give_up_after=GIVE_UP_AFTER)
    if attempt.outcome in ("retry", "gave_up"):
        log = (
            current_app.logger.warning if attempt.outcome == "gave_up" else current_app.logger.info
        )
        log(
            "message %s (%s) to the portal: %s (%s)",
            message.id,
            message.event,
            attempt.outcome,
            message.last_error,
        )
    db.session.commit()
    return attempt.outcome


def deliver_due(limit: int = 100) -> int:
    """Attempt every message whose next attempt is due; return how many were delivered."""
    due = federation.due_ids(db.session, PortalMessage, utcnow(), limit)
    return sum(1 for message_id in due if deliver(message_id) == "delivered")


# --- wiring -----------------------------------------------------------------------------


def register_tasks(celery: Celery) -> None:
    celery.task(name=DELIVER)(deliver)
    celery.task(name=DELIVER_DUE)(deliver_due)
    celery.conf.beat_schedule = {
        **(celery.conf.beat_schedule or {}),
        "federation-deliver-due": {"task": DELIVER_DUE, "schedule": 10.0},
    }


federation_cli = federation.outbox_cli(
    "federation", deliver_due, to="the portal", help="Messages to the portal."
)
