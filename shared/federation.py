"""Messages between the portal and the regional diaries, server to server.

The two apps are two organisations: they meet over HTTP only. What travels:

- portal → diary: a JWS the portal signs with its OpenID Provider key (the diary already
  trusts those keys and caches them from the JWKS), ``typ: federation+jwt`` so that it
  can never pass for an ID, access or logout token (RFC 8725 §3.11); ``aud`` is the
  diary's client id, so a message for one region is refused by another; ``exp`` is five
  minutes after ``iat``. Claims ``event`` (a name such as ``application.submitted``) and
  ``data`` (a JSON object) carry the message. Receivers are idempotent by the message's
  own business id (an application's id, a grant's id), never by ``jti``: a retry after
  a lost answer is a new token for the same thing.
- diary → portal: JSON ``{"event", "data"}`` with HTTP Basic authentication as the
  diary's registered OAuth client (RFC 6749 §2.3.1), over TLS in production.

Both directions are at-least-once: the sender writes an outbox row (``OutboxMixin``) in
the transaction that decided to send, tries at once, and retries what failed with a
growing delay (``retry_delay``) until ``give_up_after``.
"""

from __future__ import annotations

import base64
import http.client
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import click
import sqlalchemy as sa
from flask.cli import AppGroup
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.orm import Mapped, mapped_column

from shared import tracing
from shared.sessions import utcnow

EVENT_TYP = "federation+jwt"
EVENT_LIFETIME = 300  # seconds a signed message is valid: enough for one attempt
# Asymmetric only: never "none" nor HMAC (which would let a key's public half verify).
EVENT_ALGORITHMS = ["RS256", "ES256"]
MAX_TOKEN_LENGTH = 65536


class InvalidFederationMessage(ValueError):
    """The message is not signed by the portal for us, is stale, or is malformed."""


class DeliveryFailed(Exception):
    """The other side did not take the message (unreachable, or not a 2xx JSON answer)."""

    def __init__(self, reason: str, status: int | None = None):
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Event:
    name: str
    data: dict[str, Any]
    jti: str

    def __repr__(self) -> str:  # data may carry personal data: never in a log line
        return f"<Event {self.name} {self.jti}>"


# --- moments and days in messages ------------------------------------------------------


def utc_text(moment: datetime) -> str:
    """A stored moment (naive UTC) as the messages and claims carry it:
    ``2026-12-04T12:00:00Z``."""
    return moment.replace(microsecond=0).isoformat() + "Z"


def parse_utc(value: Any) -> datetime | None:
    """An ISO 8601 moment from a message as naive UTC, as both apps store moments (one
    without an offset is taken as UTC); None when absent or malformed."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def parse_day(value: Any) -> date | None:
    """A ``YYYY-MM-DD`` day from a message or claim; None when absent or malformed."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


# --- signing and reading (portal → diary) --------------------------------------------


def sign_event(
    key,
    *,
    issuer: str,
    audience: str,
    event: str,
    data: dict[str, Any],
    now: int | None = None,
) -> str:
    """The signed message (compact JWS) for ``audience`` carrying ``event`` and ``data``.
    ``key`` is a joserfc private key with a ``kid`` (the portal's active signing key)."""
    now = int(time.time()) if now is None else now
    alg = "ES256" if key.key_type == "EC" else "RS256"
    claims = {
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + EVENT_LIFETIME,
        "jti": secrets.token_urlsafe(16),
        "event": event,
        "data": data,
    }
    return jwt.encode({"alg": alg, "kid": key.kid, "typ": EVENT_TYP}, claims, key)


def read_event(
    token: str | None,
    keys: Callable[[str | None], KeySet],
    *,
    issuer: str,
    audience: str,
    leeway: int = 30,
) -> Event:
    """Check a message as ``sign_event`` made it: an asymmetric signature by a key of
    ``keys(kid)`` (the portal's JWKS, refetched by the caller on an unknown ``kid``),
    ``typ`` exactly ``federation+jwt``, ``iss`` the portal, ``aud`` us, ``iat`` and
    ``exp`` present and current (``leeway`` seconds of clock difference), ``jti``
    present, ``event`` a string and ``data`` an object. Raises
    ``InvalidFederationMessage``; the caller's key fetch may raise its own error."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidFederationMessage("no message")
    try:
        decoded = jwt.decode(
            token, lambda obj: keys(obj.headers().get("kid")), algorithms=EVENT_ALGORITHMS
        )
    except (JoseError, ValueError) as error:
        raise InvalidFederationMessage(f"signature: {type(error).__name__}") from error
    if str(decoded.header.get("typ", "")).lower() != EVENT_TYP:
        raise InvalidFederationMessage("typ is not federation+jwt")
    claims = decoded.claims
    try:
        jwt.JWTClaimsRegistry(
            leeway=leeway,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            iat={"essential": True},
            exp={"essential": True},
            jti={"essential": True},
        ).validate(claims)
    except JoseError as error:
        raise InvalidFederationMessage(f"claims: {error.error}") from error
    if claims["iat"] > time.time() + leeway or claims["exp"] - claims["iat"] > 3600:
        raise InvalidFederationMessage("iat in the future or exp too far")
    name, data = claims.get("event"), claims.get("data")
    if not isinstance(name, str) or not name or not isinstance(data, dict):
        raise InvalidFederationMessage("no event or data")
    return Event(name=name, data=data, jti=str(claims["jti"]))


# --- HTTP -----------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is not an answer: the message is never posted to an address the
    sender did not configure."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def basic_auth(client_id: str, secret: str) -> str:
    """The ``Authorization`` header value of HTTP Basic client authentication: the id
    and secret form-encoded first (RFC 6749 §2.3.1), as the portal's token endpoint
    reads them."""
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> dict[str, Any]:
    """POST ``body`` and return the JSON object of a 2xx answer; ``DeliveryFailed``
    otherwise (unreachable, timed out, redirected, another status, not JSON)."""
    headers = {**headers, **tracing.outgoing_headers()}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=timeout) as response:
            status, raw = response.status, response.read(1_000_000)
    except urllib.error.HTTPError as exc:
        status = exc.code
        exc.close()
        raise DeliveryFailed(f"answered {status}", status) from exc
    except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out
        raise DeliveryFailed(f"unreachable: {type(exc).__name__}") from exc
    if not 200 <= status < 300:
        raise DeliveryFailed(f"answered {status}", status)
    try:
        answer = json.loads(raw or b"{}")
    except ValueError as exc:
        raise DeliveryFailed("the answer is not JSON", status) from exc
    if not isinstance(answer, dict):
        raise DeliveryFailed("the answer is not a JSON object", status)
    return answer


def get_json(url: str, timeout: float) -> dict[str, Any]:
    """GET a JSON object (``DeliveryFailed`` as ``post``)."""
    headers = {"Accept": "application/json", **tracing.outgoing_headers()}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        with _opener.open(request, timeout=timeout) as response:
            status, raw = response.status, response.read(5_000_000)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise DeliveryFailed(f"answered {exc.code}", exc.code) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryFailed(f"unreachable: {type(exc).__name__}") from exc
    if status != 200:
        raise DeliveryFailed(f"answered {status}", status)
    try:
        answer = json.loads(raw)
    except ValueError as exc:
        raise DeliveryFailed("the answer is not JSON", status) from exc
    if not isinstance(answer, dict):
        raise DeliveryFailed("the answer is not a JSON object", status)
    return answer


# --- the outbox -------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """10 s after the first failed attempt, doubling, at most 10 minutes."""
    return timedelta(seconds=min(600, 10 * 2 ** max(0, attempts - 1)))


# A 4xx other than these means the receiver read the message and refused it for good
# (it will refuse the same message again): no point retrying.
RETRYABLE_STATUSES = {408, 409, 425, 429}


class OutboxMixin:
    """One message owed to the other side. ``next_attempt_at`` is None once delivered
    or given up; ``answer`` keeps the receiver's JSON answer."""

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(sa.String(50))
    target: Mapped[str] = mapped_column(sa.String(100))  # a client id, or "portal"
    key: Mapped[str] = mapped_column(sa.String(100))  # the business id (idempotency)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    delivered_at: Mapped[datetime | None]
    gave_up_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(200))
    answer: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:  # data may carry personal data
        return f"<{type(self).__name__} {self.id} {self.event} to {self.target}>"


@dataclass(frozen=True)
class Attempt:
    """What one delivery attempt came to: ``delivered``, ``retry``, ``gave_up`` or
    ``skipped``; the answer when delivered."""

    outcome: str
    answer: dict[str, Any] | None = None


def record_attempt(
    message: OutboxMixin,
    send: Callable[[OutboxMixin], dict[str, Any]],
    *,
    give_up_after: timedelta,
    now: datetime | None = None,
) -> Attempt:
    """Make one attempt at ``message`` with ``send`` and write its outcome on the row
    (the caller commits). A refusal for good (a 4xx not in ``RETRYABLE_STATUSES``) and
    an attempt past ``give_up_after`` give the message up."""
    if message.delivered_at is not None or message.next_attempt_at is None:
        return Attempt("skipped")
    # The row changes only after the attempt: no write transaction is held open while
    # the other side answers (on SQLite it would lock out the writers it may call back).
    try:
        answer = send(message)
    except DeliveryFailed as exc:
        now = now or utcnow()
        message.attempts += 1
        message.last_error = str(exc)[:200]
        final = exc.status is not None and 400 <= exc.status < 500
        if (final and exc.status not in RETRYABLE_STATUSES) or (
            now - message.created_at >= give_up_after
        ):
            message.next_attempt_at = None
            message.gave_up_at = now
            return Attempt("gave_up")
        message.next_attempt_at = now + retry_delay(message.attempts)
        return Attempt("retry")
    message.attempts += 1
    message.delivered_at = now or utcnow()
    message.next_attempt_at = None
    message.last_error = None
    message.answer = answer
    return Attempt("delivered", answer)


def due_ids(session, model: type[OutboxMixin], now: datetime, limit: int) -> list[int]:
    """The ids of ``model``'s messages whose next attempt is due, oldest due first."""
    return list(
        session.execute(
            sa.select(model.id)
            .where(model.next_attempt_at.is_not(None), model.next_attempt_at <= now)
            .order_by(model.next_attempt_at)
            .limit(limit)
        ).scalars()
    )


class Handlers:
    """Event name → function; one registry per app and direction."""

    def __init__(self) -> None:
        self._functions: dict[str, Callable[..., Any]] = {}

    def __call__(self, event: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(function: Callable[..., Any]) -> Callable[..., Any]:
            self._functions[event] = function
            return function

        return register

    def get(self, event: str) -> Callable[..., Any] | None:
        return self._functions.get(event)


def outbox_cli(name: str, deliver_due: Callable[[], int], *, to: str, help: str) -> AppGroup:
    """The ``<name> send [--loop N]`` command that sends an app's due messages: what
    Celery beat does in production, and the dev stack's loop without Redis."""
    group = AppGroup(name, help=help)

    @group.command("send")
    @click.option(
        "--loop", "interval", type=float, default=0, help="Repeat every N seconds until stopped."
    )
    def send_command(interval: float) -> None:
        """Send the queued messages whose next attempt is due."""
        while True:
            delivered = deliver_due()
            if delivered or not interval:
                click.echo(f"delivered {delivered} message(s) to {to}")
            if not interval:
                return
            time.sleep(interval)

    return group
