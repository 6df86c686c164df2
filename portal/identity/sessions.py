"""The citizen's portal sessions: the list, ending one or all, and telling the rooms built
on identity (``SESSIONS_ENDING``) before they end."""

from __future__ import annotations

import json
from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.identity.models import (
    Citizen,
    web_session,
)
from portal.identity.security_log import Origin, record_event
from shared.errors import NotFound
from shared.sessions import utcnow


def list_sessions(citizen_id: int) -> list[sa.Row]:
    return list(
        db.session.execute(
            sa.select(web_session)
            .where(web_session.c.user_id == citizen_id)
            .order_by(web_session.c.last_seen_at.desc())
        )
    )


# Called with (citizen id, the OpenID Connect session ids) just before those sessions
# end, so rooms built on identity can act: the OpenID Provider revokes the sessions'
# tokens and tells their clients (back-channel logout). Identity knows none of them.
SESSIONS_ENDING: list[Callable[[int, list[str]], None]] = []


def announce_sessions_ending(citizen_id: int, sids: list[str | None]) -> None:
    """Tell every ``SESSIONS_ENDING`` listener; a failing listener is logged, never lets
    it keep a session alive."""
    sids = [sid for sid in sids if sid]
    if not sids:
        return
    for listener in SESSIONS_ENDING:
        try:
            listener(citizen_id, sids)
        except Exception:
            db.session.rollback()
            current_app.logger.exception("a listener failed while sessions were ending")


def _announce_ending(citizen_id: int, which: sa.ColumnElement[bool]) -> None:
    """Announce the sessions ``which`` selects; their ``sid`` lives in the JSON data."""
    data = db.session.execute(sa.select(web_session.c.data).where(which)).scalars()
    announce_sessions_ending(citizen_id, [json.loads(text or "{}").get("sid") for text in data])


def end_session(citizen: Citizen, public_id: str, origin: Origin) -> None:
    """End one of the citizen's own sessions; another person's session is "not found"."""
    which = sa.and_(web_session.c.user_id == citizen.id, web_session.c.public_id == public_id)
    _announce_ending(citizen.id, which)
    result = db.session.execute(sa.delete(web_session).where(which))
    if result.rowcount == 0:
        db.session.rollback()
        raise NotFound()
    record_event(citizen, "session_ended", origin)
    db.session.commit()


def sign_out_everywhere(citizen: Citizen, origin: Origin) -> None:
    record_event(citizen, "signed_out_everywhere", origin)
    db.session.commit()
    end_all_sessions(citizen.id)


def end_all_sessions(citizen_id: int, except_public_id: str | None = None) -> int:
    which = web_session.c.user_id == citizen_id
    if except_public_id:
        which = sa.and_(which, web_session.c.public_id != except_public_id)
    _announce_ending(citizen_id, which)
    result = db.session.execute(sa.delete(web_session).where(which))
    db.session.commit()
    return result.rowcount


# Built once: building a statement costs about as much as running it.
SESSION_BY_SID = sa.select(web_session).where(
    web_session.c.sid == sa.bindparam("sid"), web_session.c.user_id == sa.bindparam("user_id")
)


def is_session_alive(citizen_id: int, sid: str) -> bool:
    """Whether the portal session ``sid`` of this citizen still exists and has not timed
    out: tokens issued in a session live no longer than the session itself."""
    row = db.session.execute(SESSION_BY_SID, {"sid": sid, "user_id": citizen_id}).first()
    return row is not None and not current_app.session_interface.is_expired(
        current_app, row, utcnow()
    )
