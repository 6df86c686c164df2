"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0): when a portal session
ends, the clients that received tokens in it are told so, server to server.

- ``end_sessions`` runs just before portal sessions end (identity's ``SESSIONS_ENDING``:
  sign-out, sign-out everywhere, one session ended in the cabinet, password recovery
  or change). It revokes the sessions' token families and writes one ``LogoutDelivery``
  per client with a ``backchannel_logout_uri`` (§2.3: ``SessionClient`` remembers them).
- ``deliver_logout`` makes one attempt; the first runs as a job. A client that is down
  or refuses is retried by ``deliver_due_logouts`` (Celery beat in production,
  ``flask --app portal logout-deliveries resend --loop N`` in the dev stack): 10 s
  doubling to 10 minutes, for 24 hours, then given up and logged. Celery's eager mode
  (the embedded default) cannot wait between retries, hence the table.

Delivery is at least once: a retry after a lost answer sends a second logout token
(with a new ``jti``), which a client treats like the first.
"""

from __future__ import annotations

import http.client
import secrets
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from urllib.parse import urlencode

import click
import sqlalchemy as sa
from celery import Celery
from flask import current_app
from flask.cli import AppGroup
from joserfc import jwt

from portal.extensions import db
from portal.identity.models import Citizen
from portal.identity.sessions import SESSIONS_ENDING
from portal.metrics import LOGOUT_DELIVERIES
from portal.oidc.clients import load_client
from portal.oidc.keys import active_key
from portal.oidc.models import IssuedToken, LogoutDelivery, OAuthClient, SessionClient, insert_once
from portal.oidc.tokens import client_alg, issuer
from shared.jobs import nudge
from shared.sessions import utcnow
from shared.tracing import outgoing_headers

DELIVER_LOGOUT = "portal.deliver_logout"
DELIVER_DUE_LOGOUTS = "portal.deliver_due_logouts"

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# §2.4 recommends a logout token expire soon: two minutes, a fresh token per attempt.
LOGOUT_TOKEN_LIFETIME = 120
# A delivery that has not succeeded this long after the session ended is given up.
GIVE_UP_AFTER = timedelta(hours=24)
# Written rows are due this long after queuing, in case the first attempt's job is lost
# (the broker was down): the sweeper sends them then. The job itself runs at once.
FIRST_ATTEMPT_GRACE = timedelta(minutes=1)


class DeliveryFailed(Exception):
    """The client's endpoint did not answer 200 or 204 (§2.8): try again later."""


# --- ending sessions ----------------------------------------------------------------


def end_sessions(citizen_id: int, sids: list[str]) -> list[int]:
    """Revoke the token families issued in the portal sessions ``sids`` and queue a
    back-channel logout to each of their clients that takes one; return the ids of the
    deliveries queued now.

    One transaction: the revocations, the deliveries and whatever the caller did before
    in the session (the expiry sweep's claim of the session row) commit together, so a
    session is never found ended without its logouts queued. Idempotent: a session
    announced twice (the cabinet ends a session, then signs the browser out; two
    sweepers) revokes nothing more and queues nothing more.
    """
    revoke_session_tokens(sids)
    queued = queue_logouts(citizen_id, sids)
    db.session.commit()
    for delivery_id in queued:
        nudge(DELIVER_LOGOUT, delivery_id)
    return queued


def revoke_session_tokens(sids: list[str]) -> int:
    """Revoke every token family with a token issued in one of the sessions ``sids``
    (one statement; not committed)."""
    families = sa.select(IssuedToken.family).where(IssuedToken.sid.in_(sids)).distinct()
    return db.session.execute(
        sa.update(IssuedToken)
        .where(IssuedToken.family.in_(families.scalar_subquery()), IssuedToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount


def queue_logouts(citizen_id: int, sids: list[str]) -> list[int]:
    """Write the outbox rows for the sessions' clients with a back-channel logout URI;
    return the ids of those written now (one per session and client, ever: a row
    written before, or by a concurrent transaction, is not written again). Not committed."""
    citizen = db.session.get(Citizen, citizen_id)
    if citizen is None:
        return []
    targets = db.session.execute(
        sa.select(SessionClient.sid, SessionClient.client_id)
        .join(OAuthClient, OAuthClient.client_id == SessionClient.client_id)
        .where(
            SessionClient.sid.in_(sids),
            SessionClient.citizen_id == citizen_id,
            OAuthClient.backchannel_logout_uri.is_not(None),
            OAuthClient.disabled_at.is_(None),
        )
        .order_by(SessionClient.id)
    ).all()
    written = []
    for sid, client_id in targets:
        delivery_id = insert_once(
            LogoutDelivery,
            {
                "client_id": client_id,
                "sid": sid,
                "sub": citizen.public_id,
                "attempts": 0,
                "next_attempt_at": utcnow() + FIRST_ATTEMPT_GRACE,
                "created_at": utcnow(),
            },
            ["sid", "client_id"],
            returning=LogoutDelivery.id,
        )
        if delivery_id is not None:
            written.append(delivery_id)
    return written


SESSIONS_ENDING.append(end_sessions)


# --- the logout token and its delivery ----------------------------------------------


def logout_token(client: OAuthClient, sub: str, sid: str, now: int | None = None) -> str:
    """A logout token for ``client`` (§2.4), signed like its ID tokens.

    Explicitly typed ``logout+jwt`` (§2.4, RFC 8725 §3.11) so that it can never pass for
    an ID or access token; ``aud`` is the one client; no ``nonce`` (§2.4 prohibits it).
    """
    now = int(time.time()) if now is None else now
    alg = client_alg(client)
    key = active_key(alg)
    claims = {
        "iss": issuer(),
        "aud": client.client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_LIFETIME,
        "jti": secrets.token_urlsafe(16),
        "sub": sub,
        "sid": sid,
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
    }
    return jwt.encode({"alg": alg, "kid": key.kid, "typ": "logout+jwt"}, claims, key)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is not an answer (§2.8 wants 200): it fails the attempt, and the
    logout token is never posted to an address the client did not register."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post_logout_token(uri: str, token: str, timeout: float) -> None:
    """POST ``logout_token`` form-encoded to the client (§2.5); ``DeliveryFailed`` unless
    it answers 200 or 204 (§2.8)."""
    request = urllib.request.Request(  # noqa: S310 (a registered http(s) URI)
        uri,
        data=urlencode({"logout_token": token}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", **outgoing_headers()},
        method="POST",
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
        exc.close()
    except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out
        raise DeliveryFailed(f"unreachable: {type(exc).__name__}") from exc
    if status not in (200, 204):
        raise DeliveryFailed(f"answered {status}")


def retry_delay(attempts: int) -> timedelta:
    """10 s after the first failed attempt, doubling, at most 10 minutes."""
    return timedelta(seconds=min(600, 10 * 2 ** max(0, attempts - 1)))


def deliver_logout(delivery_id: int) -> str:
    """One attempt at a queued logout: ``delivered``, ``retry``, ``gave_up`` or
    ``skipped`` (already delivered, given up, or the client no longer takes them)."""
    delivery = db.session.get(LogoutDelivery, delivery_id)
    if delivery is None or delivery.delivered_at is not None or delivery.next_attempt_at is None:
        return "skipped"
    client = load_client(delivery.client_id)
    if client is None or not client.backchannel_logout_uri:
        delivery.next_attempt_at = None
        delivery.last_error = "the client no longer takes back-channel logout"
        db.session.commit()
        return "skipped"
    delivery.attempts += 1
    try:
        post_logout_token(
            client.backchannel_logout_uri,
            logout_token(client, delivery.sub, delivery.sid),
            timeout=float(current_app.config["BACKCHANNEL_LOGOUT_TIMEOUT"]),
        )
    except DeliveryFailed as exc:
        LOGOUT_DELIVERIES.labels("failed").inc()
        return _failed(delivery, str(exc))
    LOGOUT_DELIVERIES.labels("delivered").inc()
    delivery.delivered_at = utcnow()
    delivery.next_attempt_at = None
    delivery.last_error = None
    db.session.commit()
    return "delivered"


def _failed(delivery: LogoutDelivery, error: str) -> str:
    now = utcnow()
    delivery.last_error = error[:200]
    if now - delivery.created_at >= GIVE_UP_AFTER:
        LOGOUT_DELIVERIES.labels("gave_up").inc()
        delivery.next_attempt_at = None
        db.session.commit()
        current_app.logger.warning(
            "back-channel logout %s to %s given up after %d attempts: %s",
            delivery.id,
            delivery.client_id,
            delivery.attempts,
            error,
        )
        return "gave_up"
    delivery.next_attempt_at = now + retry_delay(delivery.attempts)
    db.session.commit()
    current_app.logger.info(
        "back-channel logout %s to %s failed (%s); retried later",
        delivery.id,
        delivery.client_id,
        error,
    )
    return "retry"


def deliver_due_logouts(now: datetime | None = None, limit: int = 100) -> int:
    """Attempt every queued logout whose next attempt is due; return how many were
    delivered (run periodically)."""
    now = now or utcnow()
    due = list(
        db.session.execute(
            sa.select(LogoutDelivery.id)
            .where(
                LogoutDelivery.delivered_at.is_(None),
                LogoutDelivery.next_attempt_at.is_not(None),
                LogoutDelivery.next_attempt_at <= now,
            )
            .order_by(LogoutDelivery.next_attempt_at)
            .limit(limit)
        ).scalars()
    )
    return sum(1 for delivery_id in due if deliver_logout(delivery_id) == "delivered")


# --- wiring -------------------------------------------------------------------------


def register_tasks(celery: Celery) -> None:
    celery.task(name=DELIVER_LOGOUT)(deliver_logout)
    celery.task(name=DELIVER_DUE_LOGOUTS)(deliver_due_logouts)
    # Production (Celery beat): logouts whose client was down are retried.
    celery.conf.beat_schedule = {
        **celery.conf.beat_schedule,
        "deliver-due-logouts": {"task": DELIVER_DUE_LOGOUTS, "schedule": 10.0},
    }


logout_deliveries_cli = AppGroup("logout-deliveries", help="Back-channel logout deliveries.")


@logout_deliveries_cli.command("resend")
@click.option(
    "--loop", "interval", type=float, default=0, help="Repeat every N seconds until stopped."
)
def resend_command(interval: float) -> None:
    """Send queued back-channel logouts whose next attempt is due (Celery beat does this
    in production)."""
    while True:
        delivered = deliver_due_logouts()
        if delivered or not interval:
            click.echo(f"delivered {delivered} back-channel logout(s)")
        if not interval:
            return
        time.sleep(interval)
