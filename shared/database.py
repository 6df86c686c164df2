"""Database wiring common to both apps."""

from __future__ import annotations

import sqlite3
import time

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite enforces foreign keys only when asked; WAL lets readers and a writer share."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


# A pooled PostgreSQL connection that sat unused this long is checked with a round trip
# before it is handed out (the server may have restarted, or a firewall dropped it). A
# busy pool hands connections back and forth within milliseconds: checking each of
# those (SQLAlchemy's pool_pre_ping) cost about 5 ms of CPU per sign-in, a third of it.
PING_AFTER_IDLE_SECONDS = 1.0


@event.listens_for(Pool, "checkin")
def _note_checkin(_dbapi_connection, record) -> None:
    if record is not None:
        record.info["checked_in_at"] = time.monotonic()


@event.listens_for(Pool, "checkout")
def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
    """Pessimistic disconnect handling for idle connections only: a dead one is
    replaced (``DisconnectionError`` makes the pool try a new connection)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        return
    idle = time.monotonic() - record.info.get("checked_in_at", 0.0)
    if idle < PING_AFTER_IDLE_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        dbapi_connection.rollback()
    except Exception as exc:  # any failure of the round trip: the connection is gone
        raise DisconnectionError() from exc


# A PostgreSQL that is restarting refuses connections for a few seconds (the drill's
# pg-restart, issue 15: about 5 s here). A new connection waits for it this long instead
# of failing the request at once: nothing was sent yet, so trying again is safe.
CONNECT_RETRY_SECONDS = 10.0
_SERVER_NOT_THERE_YET = (
    "connection refused",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
)


@event.listens_for(Engine, "do_connect")
def _connect_patiently(dialect, _record, cargs, cparams):
    """Connect to PostgreSQL, retrying with backoff (0.1 s doubling to 1 s) for up to
    ``CONNECT_RETRY_SECONDS`` while the server is down or starting; any other failure
    (a wrong password, an unknown database) is raised at once."""
    if dialect.name != "postgresql":
        return None
    deadline = time.monotonic() + CONNECT_RETRY_SECONDS
    delay = 0.1
    while True:
        try:
            return dialect.connect(*cargs, **cparams)
        except dialect.loaded_dbapi.OperationalError as exc:
            text = str(exc).lower()
            if not any(sign in text for sign in _SERVER_NOT_THERE_YET):
                raise
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def init_database(app: Flask, db: SQLAlchemy) -> None:
    db.init_app(app)


def commit_keeping_state(db: SQLAlchemy) -> None:
    """Commit without expiring the session's objects: what was just written is what
    they hold, and a hot path that reads them next (a token response builds the ID token
    from the grant's objects) need not load each one again."""
    session = db.session()
    expire_on_commit = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire_on_commit
