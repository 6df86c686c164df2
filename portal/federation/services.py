"""The regional diaries the portal works with, and the messages it exchanges with them.

Out (portal → diary): ``send_to_diary`` writes a ``FederationMessage`` and tries it at
once as a job; ``deliver_due`` (Celery beat in production, ``flask --app portal
federation send --loop N`` in the dev stack) retries what failed, 10 s doubling to 10
minutes, for ``GIVE_UP_AFTER``. Each attempt is a fresh token signed with the portal's
OpenID Provider key (shared/federation.py). What the diary answers goes to the
``on_answer`` handler of the event; a message given up goes to ``on_give_up``.

In (diary → portal): ``receive`` authenticates the diary as its registered OAuth client
and calls the ``handles`` handler of the event.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urljoin

import sqlalchemy as sa
from celery import Celery
from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.family.models import TrustedGrant
from portal.federation.models import FederationMessage
from portal.oidc.clients import query_client
from portal.oidc.keys import active_key
from portal.oidc.models import OAuthClient
from portal.oidc.tokens import issuer
from portal.regions import Region, regions
from portal.signals import trusted_access_ended
from shared import federation
from shared.errors import DomainError, NotFound
from shared.jobs import nudge
from shared.sessions import utcnow

DELIVER = "portal.federation_deliver"
DELIVER_DUE = "portal.federation_deliver_due"
# A service application may wait out a long outage of a region's diary; after a week the
# citizen is told it did not arrive and applies again.
GIVE_UP_AFTER = timedelta(days=7)

# Handlers the rooms register: answers of diaries to our messages, messages given up,
# and messages diaries send us.
on_answer = federation.Handlers()
on_give_up = federation.Handlers()
handles = federation.Handlers()


class RegionUnavailable(DomainError):
    status = 503
    code = "temporarily_unavailable"
    default_message = _l(
        "The region's electronic diary does not answer now. Try again in a few minutes."
    )


class UnknownEvent(DomainError):
    status = 400
    default_message = _l("Unknown event.")


def region(code: str) -> Region:
    for candidate in regions():
        if candidate.code == code:
            return candidate
    raise NotFound(_l("There is no such region."))


def region_of_client(client_id: str) -> Region | None:
    for candidate in regions():
        if candidate.client_id == client_id:
            return candidate
    return None


def _timeout() -> float:
    return float(current_app.config["FEDERATION_TIMEOUT"])


def fetch_schools(code: str) -> list[dict[str, Any]]:
    """The schools of a region as its diary lists them now (``GET federation/schools``):
    ``[{"id", "name", "short_name", "address"}]``. ``RegionUnavailable`` when the diary
    does not answer or answers nonsense."""
    target = region(code)
    try:
        answer = federation.get_json(urljoin(target.url, "federation/schools"), _timeout())
    except federation.DeliveryFailed as error:
        current_app.logger.warning("schools of region %s unavailable: %s", code, error)
        raise RegionUnavailable() from error
    schools = []
    for school in answer.get("schools") or []:
        if not isinstance(school, dict) or not isinstance(school.get("id"), int):
            continue
        schools.append(
            {
                "id": school["id"],
                "name": str(school.get("name") or "")[:300],
                "short_name": str(school.get("short_name") or "")[:100],
                "address": str(school.get("address") or "")[:300] or None,
            }
        )
    return schools


# --- out --------------------------------------------------------------------------------


def send_to_diary(event: str, client_id: str, key: str, data: dict[str, Any]) -> FederationMessage:
    """Owe ``event`` with ``data`` to the diary of ``client_id``: write the message,
    commit (with whatever the caller changed in this transaction), and try it at once.

    Idempotent by ``(event, client_id, key)``: the same message twice is one message.
    """
    existing = _queued(event, client_id, key)
    if existing is not None:
        db.session.commit()  # the caller's other changes still count
        return existing
    message = FederationMessage(
        event=event,
        target=client_id,
        key=key,
        # Due now, in case the first attempt's job is lost (the broker was down).
        next_attempt_at=utcnow(),
    )
    db.session.add(message)
    try:
        message.payload = data  # encrypted for this row: inserts it
        db.session.commit()
    except IntegrityError:
        # Queued by another process at the same moment: that one is ours too.
        db.session.rollback()
        return _queued(event, client_id, key)
    nudge(DELIVER, message.id)
    return message


def _queued(event: str, client_id: str, key: str) -> FederationMessage | None:
    return db.session.execute(
        sa.select(FederationMessage).where(
            FederationMessage.event == event,
            FederationMessage.target == client_id,
            FederationMessage.key == key,
        )
    ).scalar_one_or_none()


def _send(message: FederationMessage) -> dict[str, Any]:
    target = region_of_client(message.target)
    if target is None:
        raise federation.DeliveryFailed("the region is no longer configured")
    client = db.session.execute(
        sa.select(OAuthClient).where(OAuthClient.client_id == message.target)
    ).scalar_one_or_none()
    alg = (client.id_token_signed_response_alg if client else None) or "RS256"
    token = federation.sign_event(
        active_key(alg),
        issuer=issuer(),
        audience=message.target,
        event=message.event,
        data=message.payload,
    )
    return federation.post(
        urljoin(target.url, "federation/events"),
        token.encode(),
        {"Content-Type": "application/jwt", "Accept": "application/json"},
        _timeout(),
    )


def deliver(message_id: int) -> str:
    """One attempt at a queued message: ``delivered``, ``retry``, ``gave_up`` or
    ``skipped``. The answer's handler runs in the same transaction."""
    message = db.session.get(FederationMessage, message_id)
    if message is None:
        return "skipped"
    attempt = federation.record_attempt(message, _send, give_up_after=GIVE_UP_AFTER)
    if attempt.outcome in ("delivered", "gave_up"):
        message.sealed = None  # the personal data it carried is needed no more
    if attempt.outcome == "delivered":
        handler = on_answer.get(message.event)
        if handler is not None:
            handler(message, attempt.answer or {})
    elif attempt.outcome == "gave_up":
        current_app.logger.warning(
            "message %s (%s) to %s given up after %d attempts: %s",
            message.id,
            message.event,
            message.target,
            message.attempts,
            message.last_error,
        )
        handler = on_give_up.get(message.event)
        if handler is not None:
            handler(message)
    elif attempt.outcome == "retry":
        current_app.logger.info(
            "message %s (%s) to %s failed (%s); retried later",
            message.id,
            message.event,
            message.target,
            message.last_error,
        )
    db.session.commit()
    return attempt.outcome


def deliver_due(limit: int = 100) -> int:
    """Attempt every message whose next attempt is due; return how many were delivered."""
    due = federation.due_ids(db.session, FederationMessage, utcnow(), limit)
    return sum(1 for message_id in due if deliver(message_id) == "delivered")


# --- in ---------------------------------------------------------------------------------


def authenticate_diary(client_id: str | None, secret: str | None) -> str | None:
    """The client id of a registered, enabled confidential client whose secret matches,
    or None (the caller answers 401)."""
    if not client_id or not secret:
        return None
    client = query_client(client_id)  # enabled, and a well-formed id (no NUL to the database)
    if client is None or not client.check_client_secret(secret):
        return None
    return client.client_id


def receive(client_id: str, event: Any, data: Any) -> dict[str, Any]:
    """Hand a diary's message to its handler; the handler owns its transaction."""
    handler = handles.get(event) if isinstance(event, str) else None
    if handler is None or not isinstance(data, dict):
        raise UnknownEvent()
    return handler(client_id, data)


# --- wiring -----------------------------------------------------------------------------


def init_federation(app: Flask, celery: Celery) -> None:
    """Listen to the rooms' signals of this app and register the delivery jobs on its
    Celery. Called once by ``create_app``."""
    trusted_access_ended.connect(_on_trusted_access_ended, sender=app)
    register_tasks(celery)


def _on_trusted_access_ended(sender: Flask, grant: TrustedGrant) -> None:
    """Tell every region's diary (the portal does not know where the child studies)."""
    for region in regions():
        send_to_diary(
            "trusted.revoked", region.client_id, key=str(grant.id), data={"grant": grant.public_id}
        )


def register_tasks(celery: Celery) -> None:
    celery.task(name=DELIVER)(deliver)
    celery.task(name=DELIVER_DUE)(deliver_due)
    celery.conf.beat_schedule = {
        **celery.conf.beat_schedule,
        "federation-deliver-due": {"task": DELIVER_DUE, "schedule": 10.0},
    }


federation_cli = federation.outbox_cli(
    "federation", deliver_due, to="the diaries", help="Messages to the diaries."
)
