"""Sessions that time out end like sessions people end: idle (``SESSION_IDLE_TIMEOUT``,
30 minutes) or past the absolute timeout (``SESSION_ABSOLUTE_TIMEOUT``, 12 hours), a
signed-in session is announced to ``SESSIONS_ENDING`` (the OpenID Provider revokes its
tokens and sends back-channel logout) and deleted.

Expiry is noticed twice: by the request that finds its session expired
(``end_expired_session``, the session interface's ``on_expired``), and by a periodic
sweep (``end_expired_sessions``) for the citizen who never comes back. Each session is
*claimed* by one ``DELETE … WHERE <still expired> RETURNING`` in the same transaction as
what its end writes (the revocations and the logout deliveries, committed by the
listener): of two sweepers, or a sweeper and a request, one gets the row and the other
nothing, so the logout is queued exactly once. If a listener fails, the transaction is
rolled back, the row stays (expired: no request can use it) and the next sweep tries
again.
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.identity.models import web_session
from portal.identity.sessions import announce_sessions_ending
from shared.sessions import utcnow


def _expired(now: datetime) -> sa.ColumnElement[bool]:
    return current_app.session_interface.expired_clause(current_app, now)


def end_expired_session(id_hash: str, now: datetime | None = None) -> bool:
    """End the session ``id_hash`` if it has expired and nobody ended it yet; True if
    this call ended it."""
    now = now or utcnow()
    claimed = db.session.execute(
        sa.delete(web_session)
        .where(web_session.c.id_hash == id_hash, _expired(now))
        .returning(web_session.c.user_id, web_session.c.data)
    ).first()
    if claimed is None:
        db.session.rollback()
        return False
    if claimed.user_id is not None:
        sid = json.loads(claimed.data or "{}").get("sid")
        announce_sessions_ending(claimed.user_id, [sid])
    db.session.commit()
    return True


def end_expired_sessions(now: datetime | None = None, limit: int = 500) -> int:
    """End up to ``limit`` expired signed-in sessions, oldest activity first, and delete
    expired anonymous ones; return how many signed-in sessions this call ended (run
    periodically; safe to run in several processes at once)."""
    now = now or utcnow()
    candidates = list(
        db.session.execute(
            sa.select(web_session.c.id_hash)
            .where(web_session.c.user_id.is_not(None), _expired(now))
            .order_by(web_session.c.last_seen_at)
            .limit(limit)
        ).scalars()
    )
    db.session.rollback()  # end the read: each claim is its own transaction
    ended = sum(1 for id_hash in candidates if end_expired_session(id_hash, now))
    db.session.execute(sa.delete(web_session).where(web_session.c.user_id.is_(None), _expired(now)))
    db.session.commit()
    return ended
