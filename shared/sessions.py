"""Server-side sessions.

The browser holds only a random id (256 bits from ``secrets``); the server keeps the
data, who it belongs to, the device and address, and enforces an idle and an absolute
timeout. The table stores a SHA-256 of the id, so a leaked database row cannot be
replayed as a cookie. ``session.regenerate()`` issues a new id (called at sign-in to
prevent session fixation); ``session.destroy()`` ends it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from shared.security import client_address, user_agent

# A session row is rewritten at most this often just to move ``last_seen_at``.
TOUCH_INTERVAL = timedelta(seconds=60)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def make_session_table(metadata: sa.MetaData, name: str, *, with_sid: bool = False) -> sa.Table:
    """The session table for one app's metadata (each app keeps its own).

    ``with_sid``: a ``sid`` column copies the session's ``sid`` value (an OpenID
    Provider's session id), so that the session is found by it in one indexed lookup
    instead of by decoding every session of the person."""
    extra = [sa.Column("sid", sa.String(64), nullable=True, index=True)] if with_sid else []
    return sa.Table(
        name,
        metadata,
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("public_id", sa.String(32), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, nullable=True, index=True),
        sa.Column("data", sa.Text, nullable=False, default="{}"),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("authenticated_at", sa.DateTime, nullable=True),
        sa.Column("last_seen_at", sa.DateTime, nullable=False),
        sa.Column("ip", sa.String(64), nullable=False, default=""),
        sa.Column("user_agent", sa.String(300), nullable=False, default=""),
        *extra,
    )


def hash_sid(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class ServerSession(CallbackDict, SessionMixin):
    def __init__(self, data: dict[str, Any] | None = None, sid: str | None = None, row: Any = None):
        def on_update(_: Any) -> None:
            self.modified = True

        super().__init__(data or {}, on_update)
        self.sid = sid
        self.row = row
        self.modified = False
        self.rotate = False
        self.destroyed = False

    def regenerate(self) -> None:
        """Issue a new id for this session at the next response (sign-in)."""
        self.rotate = True
        self.modified = True

    def destroy(self) -> None:
        self.clear()
        self.destroyed = True


class ServerSessionInterface(SessionInterface):
    def __init__(self, table: sa.Table, engine_getter, on_expired=None):
        self.table = table
        self.has_sid = "sid" in table.c
        self.engine_getter = engine_getter
        # Called with the id hash of a signed-in session a request found expired; the
        # app ends it as it ends any session (the portal: back-channel logout). Without
        # it the row is simply deleted.
        self.on_expired = on_expired

    def _timeouts(self, app: Flask) -> tuple[timedelta, timedelta, timedelta]:
        cfg = app.config
        return (
            timedelta(seconds=int(cfg["SESSION_IDLE_TIMEOUT"])),
            timedelta(seconds=int(cfg["SESSION_ABSOLUTE_TIMEOUT"])),
            timedelta(seconds=int(cfg.get("SESSION_ANONYMOUS_TIMEOUT", 3600))),
        )

    def live_cutoffs(self, app: Flask, now: datetime) -> dict[str, datetime]:
        """A signed-in session is alive while ``last_seen_at >= idle_cutoff`` and its
        sign-in (or creation) ``>= absolute_cutoff``: ``is_expired``'s bounds, for SQL."""
        idle, absolute, _ = self._timeouts(app)
        return {"idle_cutoff": now - idle, "absolute_cutoff": now - absolute}

    def is_expired(self, app: Flask, row: Any, now: datetime) -> bool:
        idle, absolute, anonymous = self._timeouts(app)
        if row.user_id is None:
            return now - row.last_seen_at > anonymous
        return (
            now - row.last_seen_at > idle
            or now - (row.authenticated_at or row.created_at) > absolute
        )

    def expired_clause(self, app: Flask, now: datetime) -> sa.ColumnElement[bool]:
        """``is_expired`` as SQL, to find (and claim) expired rows in one statement."""
        idle, absolute, anonymous = self._timeouts(app)
        c = self.table.c
        return sa.or_(
            sa.and_(c.user_id.is_(None), c.last_seen_at < now - anonymous),
            sa.and_(
                c.user_id.is_not(None),
                sa.or_(
                    c.last_seen_at < now - idle,
                    sa.func.coalesce(c.authenticated_at, c.created_at) < now - absolute,
                ),
            ),
        )

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        sid = request.cookies.get(self.get_cookie_name(app))
        if not sid or len(sid) > 128:
            return ServerSession()
        with self.engine_getter().connect() as conn:
            row = conn.execute(
                sa.select(self.table).where(self.table.c.id_hash == hash_sid(sid))
            ).first()
        if row is None or self.is_expired(app, row, utcnow()):
            if row is not None and row.user_id is not None and self.on_expired is not None:
                self.on_expired(row.id_hash)
            elif row is not None:
                self._delete(row.id_hash)
            return ServerSession()
        return ServerSession(json.loads(row.data), sid=sid, row=row)

    def _delete(self, id_hash: str) -> None:
        with self.engine_getter().begin() as conn:
            conn.execute(sa.delete(self.table).where(self.table.c.id_hash == id_hash))

    def save_session(self, app: Flask, session: ServerSession, response: Response) -> None:  # type: ignore[override]
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        if session.destroyed or (not session and session.row is not None and session.modified):
            if session.row is not None:
                self._delete(session.row.id_hash)
                session.row = None
            if not session:  # data set after destroy() (a flash) lives on in a new session
                response.delete_cookie(name, domain=domain, path=path)
                return
        if not session:
            return
        now = utcnow()
        user_id = session.get("user_id")
        data = json.dumps(dict(session), separators=(",", ":"), default=str)
        copied = {"sid": session.get("sid")} if self.has_sid else {}
        row = session.row
        if row is None or session.rotate:
            sid = secrets.token_urlsafe(32)
            values = {
                "id_hash": hash_sid(sid),
                "public_id": uuid.uuid4().hex,
                "user_id": user_id,
                "data": data,
                "created_at": row.created_at if row is not None and user_id is None else now,
                "authenticated_at": now if user_id is not None else None,
                "last_seen_at": now,
                "ip": client_address()[:64],
                "user_agent": user_agent(),
                **copied,
            }
            with self.engine_getter().begin() as conn:
                # A new id for the same row (sign-in): the old id stops working in the
                # same statement that gives the row its new one.
                moved = row is not None and (
                    conn.execute(
                        sa.update(self.table)
                        .where(self.table.c.id_hash == row.id_hash)
                        .values(**values)
                    ).rowcount
                    == 1
                )
                if not moved:
                    conn.execute(sa.insert(self.table).values(**values))
            response.set_cookie(
                name,
                sid,
                httponly=self.get_cookie_httponly(app),
                secure=self.get_cookie_secure(app),
                samesite=self.get_cookie_samesite(app),
                domain=domain,
                path=path,
            )
            return
        changes: dict[str, Any] = {}
        if session.modified:
            changes["data"] = data
            changes["user_id"] = user_id
            changes.update(copied)
        if now - row.last_seen_at > TOUCH_INTERVAL:
            changes["last_seen_at"] = now
            changes["ip"] = client_address()[:64]
        if changes:
            with self.engine_getter().begin() as conn:
                conn.execute(
                    sa.update(self.table)
                    .where(self.table.c.id_hash == row.id_hash)
                    .values(**changes)
                )


def init_sessions(app: Flask, table: sa.Table, engine_getter, on_expired=None) -> None:
    app.session_interface = ServerSessionInterface(table, engine_getter, on_expired)
