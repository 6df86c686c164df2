"""A PostgreSQL restarting (issue 15's drill, pg-restart): a new connection waits for
the server instead of failing the request at once (``shared.database``). The server here
is the real one, reached through a port that refuses connections for a second and a
half before it starts forwarding, as a restarting server does."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

import shared.database  # noqa: F401  (its engine events)
from tests.conftest import free_port

URL = os.environ.get("TEST_PORTAL_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(
    not URL.startswith("postgresql"), reason="needs PostgreSQL (TEST_PORTAL_DATABASE_URL)"
)


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def forward_later(port: int, to: tuple[str, int], after: float, stop: threading.Event) -> None:
    """Listen on ``port`` only after ``after`` seconds, then forward each connection."""
    time.sleep(after)
    opened: list[socket.socket] = []
    pipes: list[threading.Thread] = []
    with socket.create_server(("127.0.0.1", port)) as server:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            upstream = socket.create_connection(to)
            opened += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                pipes.append(threading.Thread(target=_pipe, args=(a, b), daemon=True))
                pipes[-1].start()
    for sock in opened:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    for pipe in pipes:
        pipe.join(timeout=5)
    for sock in opened:
        sock.close()


def test_a_new_connection_waits_for_a_restarting_server():
    parts = urlsplit(URL)
    port = free_port()
    stop = threading.Event()
    thread = threading.Thread(
        target=forward_later,
        args=(port, (parts.hostname, parts.port or 5432), 1.5, stop),
        daemon=True,
    )
    thread.start()
    engine = sa.create_engine(
        parts._replace(
            scheme="postgresql+psycopg", netloc=f"{parts.username or 'postgres'}@127.0.0.1:{port}"
        ).geturl()
    )
    try:
        started = time.monotonic()
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
        assert time.monotonic() - started >= 1.0  # it did wait for the server
    finally:
        engine.dispose()
        stop.set()
        thread.join(timeout=5)


def test_a_wrong_database_is_refused_at_once():
    parts = urlsplit(URL)
    engine = sa.create_engine(
        parts._replace(scheme="postgresql+psycopg", path="/no_such_database_drill").geturl()
    )
    started = time.monotonic()
    with pytest.raises(sa.exc.OperationalError):
        engine.connect()
    assert time.monotonic() - started < 3
    engine.dispose()
