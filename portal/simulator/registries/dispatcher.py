"""Sends the registries' answers to the portal as signed callbacks.

A pass (``dispatch_due``) first issues the answers that are due (a ``pending`` request
whose ``due_at`` has come becomes ``answered`` with a new ``CallbackDelivery``), then
attempts every delivery whose ``next_attempt_at`` has come:

- each attempt is a new message: a fresh ``callback_id`` and a fresh signature
  (``shared.signing``; a retry an hour later must not look stale);
- 2xx: delivered, never sent again;
- connection errors, timeouts, 5xx, 404 (the portal may not have committed its request
  yet), 408, 425, 429: retried after ``CALLBACK_RETRY_BASE * 2**(attempts-1)`` seconds,
  at most ``CALLBACK_RETRY_CAP``, up to ``CALLBACK_MAX_ATTEMPTS`` attempts;
- any other answer (400, 401, 403…) will not change by retrying: the delivery stops and
  ``last_error`` says why.

A delivery is claimed before it is sent (``next_attempt_at`` moves past the send's
timeout in a conditional update), so two passes never send the same attempt twice.
``start_dispatcher`` runs passes in a background thread (the ``serve`` command does).
"""

from __future__ import annotations

import http.client
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app

from portal.simulator.models import db
from portal.simulator.registries.models import CallbackDelivery, RegistryRequest
from shared.sessions import utcnow
from shared.signing import sign

RETRYABLE_STATUSES = {404, 408, 425, 429}
BATCH = 100

# One pass at a time in this process (the background thread and POST /api/dispatch).
_pass_lock = threading.Lock()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A callback URL that redirects is a misconfiguration, not something to follow."""

    def redirect_request(self, *args, **kwargs):
        return None


# The portal is reached directly: environment proxies are for the outside world.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds") + "Z"


def issue_due_answers(now: datetime) -> int:
    """Turn due ``pending`` requests into answers on their way. Returns how many."""
    due = db.session.execute(
        sa.select(RegistryRequest)
        .where(RegistryRequest.status == "pending", RegistryRequest.due_at <= now)
        .order_by(RegistryRequest.due_at, RegistryRequest.id)
        .limit(BATCH)
    ).scalars()
    issued = 0
    for record in list(due):
        claimed = db.session.execute(
            sa.update(RegistryRequest)
            .where(RegistryRequest.id == record.id, RegistryRequest.status == "pending")
            .values(status="answered", answered_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            continue
        # Read the answer again under the claim: a tester may have just changed it.
        db.session.refresh(record)
        db.session.add(
            CallbackDelivery(
                request_pk=record.id,
                payload={
                    "request_id": record.request_id,
                    "registry": record.registry_name,
                    "outcome": record.outcome,
                    "reason": record.reason,
                    "reason_text": record.reason_text,
                    "answered_at": _iso(now),
                },
                attempts=0,
                next_attempt_at=now,
            )
        )
        issued += 1
    db.session.commit()
    return issued


def backoff(attempts: int) -> float:
    config = current_app.config
    base, cap = float(config["CALLBACK_RETRY_BASE"]), float(config["CALLBACK_RETRY_CAP"])
    return min(cap, base * 2 ** max(0, attempts - 1))


@dataclass(frozen=True)
class Attempt:
    delivered: bool
    retry: bool = False
    error: str | None = None


def post_callback(url: str, payload: dict) -> Attempt:
    """POST one signed callback and say how it went."""
    body, headers = sign(current_app.config["REGISTRY_KEY"], payload)
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) checked on receipt
    try:
        with _opener.open(req, timeout=float(current_app.config["CALLBACK_TIMEOUT"])) as resp:
            resp.read()
            return Attempt(delivered=True)
    except urllib.error.HTTPError as exc:
        exc.close()
        retry = exc.code >= 500 or exc.code in RETRYABLE_STATUSES
        return Attempt(delivered=False, retry=retry, error=f"HTTP {exc.code}")
    except urllib.error.URLError as exc:
        return Attempt(delivered=False, retry=True, error=f"unreachable: {exc.reason}"[:400])
    except (OSError, http.client.HTTPException) as exc:
        error = f"unreachable: {type(exc).__name__}: {exc}"[:400]
        return Attempt(delivered=False, retry=True, error=error)


def _attempt(delivery_id: int, now: datetime) -> bool:
    delivery = db.session.get(CallbackDelivery, delivery_id)
    if delivery is None or delivery.delivered_at is not None or delivery.next_attempt_at is None:
        return False
    callback_id = str(uuid.uuid4())
    attempts = delivery.attempts + 1
    lease = now + timedelta(seconds=float(current_app.config["CALLBACK_TIMEOUT"]) + 5)
    claimed = db.session.execute(
        sa.update(CallbackDelivery)
        .where(
            CallbackDelivery.id == delivery.id,
            CallbackDelivery.next_attempt_at == delivery.next_attempt_at,
            CallbackDelivery.delivered_at.is_(None),
        )
        .values(next_attempt_at=lease, attempts=attempts, callback_id=callback_id)
        .execution_options(synchronize_session=False)
    ).rowcount
    url, payload = delivery.request.callback_url, {**delivery.payload, "callback_id": callback_id}
    db.session.commit()  # never hold the database while waiting for the portal
    if not claimed:
        return False
    result = post_callback(url, payload)
    delivery = db.session.get(CallbackDelivery, delivery_id)
    assert delivery is not None
    if result.delivered:
        delivery.delivered_at, delivery.next_attempt_at, delivery.last_error = now, None, None
    elif delivery.next_attempt_at is None:
        pass  # superseded by a newer answer while this one was on its way
    elif not result.retry:
        delivery.next_attempt_at, delivery.last_error = None, f"refused: {result.error}"
    elif attempts >= int(current_app.config["CALLBACK_MAX_ATTEMPTS"]):
        delivery.next_attempt_at, delivery.last_error = None, f"gave up: {result.error}"
    else:
        delivery.next_attempt_at = now + timedelta(seconds=backoff(attempts))
        delivery.last_error = result.error
    db.session.commit()
    return result.delivered


def deliver_due(now: datetime) -> int:
    """Attempt the deliveries that are due. Returns how many the portal took."""
    due = db.session.execute(
        sa.select(CallbackDelivery.id)
        .where(
            CallbackDelivery.delivered_at.is_(None),
            CallbackDelivery.next_attempt_at.is_not(None),
            CallbackDelivery.next_attempt_at <= now,
        )
        .order_by(CallbackDelivery.next_attempt_at, CallbackDelivery.id)
        .limit(BATCH)
    ).scalars()
    return sum(_attempt(delivery_id, now) for delivery_id in list(due))


def dispatch_due(now: datetime | None = None) -> int:
    """One pass: issue due answers and deliver what is due. Returns callbacks delivered."""
    with _pass_lock:
        now = now or utcnow()
        issue_due_answers(now)
        return deliver_due(now)


def start_dispatcher(app: Flask, interval: float | None = None) -> Callable[[], None]:
    """Run ``dispatch_due`` every ``interval`` seconds (``DISPATCH_INTERVAL``) in a daemon
    thread, each pass in its own app context. Returns a function that stops it."""
    every = float(interval if interval is not None else app.config["DISPATCH_INTERVAL"])
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            try:
                with app.app_context():
                    dispatch_due()
            except Exception:  # a bad pass must not end the dispatcher
                app.logger.exception("registry dispatcher: the pass failed")

    thread = threading.Thread(target=loop, name="registry-dispatcher", daemon=True)
    thread.start()

    def stop_dispatcher() -> None:
        stop.set()
        thread.join(timeout=float(app.config["CALLBACK_TIMEOUT"]) + every + 5)

    return stop_dispatcher
