"""The portal's own metrics (the HTTP ones are in ``shared.metrics``). Rooms count in one
line where the thing happens (``SIGN_INS.labels("success").inc()``); this module imports
no room, so any of them may import it.

``queue_depths`` is read when ``/metrics`` is scraped: the Celery queue's length in
Redis and what the outboxes still owe. It names the tables through lightweight
``sa.table`` constructs rather than the models, for the same reason (the models' rooms
import this module); ``tests/portal/test_metrics.py`` checks the counts against rows
made with the models.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from prometheus_client import Counter
from prometheus_client.core import Metric

from portal.extensions import db
from shared.metrics import celery_queue_depth, outbox_depths, queue_depth_family

SIGN_INS = Counter(
    "portal_sign_ins",
    "Password sign-in attempts by outcome: success (signed in, second factor included), "
    "unknown_account, bad_password, locked (tried during a lockout), "
    "second_factor_failed.",
    ["outcome"],
)
TOKENS_ISSUED = Counter(
    "portal_tokens_issued",
    "Token responses of the token endpoint by grant type (authorization_code, refresh_token).",
    ["grant_type"],
)
REGISTRY_REQUESTS = Counter(
    "portal_registry_requests",
    "Requests to the registries (sfr, mvd, zags, post) by outcome: accepted, "
    "unavailable (down, timing out, 5xx: retried), refused (4xx).",
    ["registry", "outcome"],
)
REGISTRY_ANSWERS = Counter(
    "portal_registry_answers",
    "Registry answers taken from callbacks, by registry and result (approved, rejected).",
    ["registry", "result"],
)
LOGOUT_DELIVERIES = Counter(
    "portal_backchannel_logout_deliveries",
    "Back-channel logout attempts by outcome: delivered, failed (retried), gave_up.",
    ["outcome"],
)

_federation_message = sa.table("federation_message", sa.column("next_attempt_at"))
_logout_delivery = sa.table("logout_delivery", sa.column("next_attempt_at"))
_verification_check = sa.table("verification_check", sa.column("status"))
_count = sa.select(sa.func.count())

OUTBOXES = {
    # Messages to the regional diaries not yet delivered nor given up.
    "federation_message": _count.select_from(_federation_message).where(
        _federation_message.c.next_attempt_at.is_not(None)
    ),
    # Back-channel logouts owed to clients.
    "logout_delivery": _count.select_from(_logout_delivery).where(
        _logout_delivery.c.next_attempt_at.is_not(None)
    ),
    # Checks a registry has not taken yet (it was down): they wait for a resend.
    "verification_check": _count.select_from(_verification_check).where(
        _verification_check.c.status == "queued"
    ),
}


def queue_depths() -> list[Metric]:
    """``job_queue_depth`` for ``/metrics`` (in the app context of the scrape)."""
    depths = {**celery_queue_depth(current_app), **outbox_depths(db.session, OUTBOXES)}
    return [queue_depth_family("portal", depths)]
