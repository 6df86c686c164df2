"""Fixtures: real databases (SQLite by default, PostgreSQL when TEST_*_DATABASE_URL is
set), the simulator's dev inbox as a real HTTP + SMTP server, and the apps."""

from __future__ import annotations

import base64
import contextvars
import json
import os
import socket
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.serving import make_server

from diary_service import create_app as create_diary
from diary_service.extensions import db as diary_db
from portal import create_app as create_portal
from portal.extensions import db as portal_db
from portal.extensions import limiter
from portal.identity import services as identity
from portal.simulator import create_app as create_simulator
from portal.simulator.inbox import start_smtp
from portal.simulator.models import db as simulator_db
from portal.simulator.registries.dispatcher import start_dispatcher
from portal.simulator.registries.population import generate_population
from shared.cache import clear_all
from tests.helpers import Inbox

ROOT = Path(__file__).resolve().parents[1]

SECRETS = {
    "SECRET_KEY": "test-secret-key-not-for-production-0001",
    "PII_KEYS": {"t1": base64.urlsafe_b64encode(b"k" * 32).decode().rstrip("=")},
    "PII_ACTIVE_KEY": "t1",
    "BLIND_INDEX_KEY": "test-blind-index-key-0001",
    "CODE_KEY": "test-code-key-0001",
    "REGISTRY_KEY": "test-registry-key-0001",
}


WORKER_URLS = ("TEST_PORTAL_DATABASE_URL", "TEST_DIARY_DATABASE_URL")


def _server_url(url: str) -> str:
    """The maintenance database of the server a database URL points at."""
    return url.rsplit("/", 1)[0] + "/postgres"


def _recreate(url: str, name: str, *, create: bool) -> None:
    with psycopg.connect(_server_url(url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def pytest_configure(config) -> None:
    """Under pytest-xdist each worker gets databases and a Redis database of its own.

    The suite's fixtures wipe tables and reset rate limits between tests; two workers
    sharing one database would wipe each other's rows mid-test. Every test reads the
    TEST_* variables, so the worker rewrites them here, before any fixture runs."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    number = int(worker.removeprefix("gw"))
    for env_name in WORKER_URLS:
        url = os.environ.get(env_name, "")
        if url.startswith("postgresql"):
            name = f"{url.rsplit('/', 1)[1]}_{worker}"
            _recreate(url, name, create=True)
            os.environ[env_name] = f"{url.rsplit('/', 1)[0]}/{name}"
    redis_url = os.environ.get("TEST_REDIS_URL", "")
    if redis_url:
        base, _, db = redis_url.rpartition("/")
        os.environ["TEST_REDIS_URL"] = f"{base}/{(int(db or 0) - number) % 16}"
        redis.Redis.from_url(os.environ["TEST_REDIS_URL"]).flushdb()


def pytest_unconfigure(config) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    for env_name in WORKER_URLS:
        url = os.environ.get(env_name, "")
        if url.startswith("postgresql"):
            _recreate(url, url.rsplit("/", 1)[1], create=False)


def database_url(env_name: str, tmp: Path, name: str) -> str:
    return os.environ.get(env_name) or f"sqlite:///{tmp / (name + '.db')}"


class LiveServer:
    """A WSGI app served by a real HTTP server on 127.0.0.1 in a thread."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context, as on a real server.

    Tests hold an app context to read the database; without this, Flask would reuse it
    for the request and share ``g`` (the signed-in citizen, the CSRF token) and the
    database session between "different browsers". The test's own transaction is ended
    around each request so both sides see committed data on SQLite and PostgreSQL alike.
    """

    def open(self, *args, **kwargs):
        db = self.application.extensions["sqlalchemy"]
        if has_app_context():
            db.session.commit()
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():
            db.session.commit()
        return response


def migrate_app(app, directory: Path) -> None:
    with app.app_context():
        upgrade(directory=str(directory))


def wipe(db) -> None:
    """Delete every row (children first), keeping the migrated schema, and forget what
    the process cached of them (the OpenID Provider's clients and keys)."""
    clear_all()
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(sa.delete(table))


@pytest.fixture(scope="session")
def simulator(tmp_path_factory) -> Iterator[tuple[object, Inbox]]:

    tmp = tmp_path_factory.mktemp("simulator")
    smtp_port = free_port()
    app = create_simulator(
        {
            "ENV": "test",
            "SECRET_KEY": SECRETS["SECRET_KEY"],
            "DATABASE_URL": f"sqlite:///{tmp / 'simulator.db'}",
            "SMTP_LISTEN_PORT": smtp_port,
            "REGISTRY_KEY": SECRETS["REGISTRY_KEY"],
            "REGISTRY_TIMEOUT_SLEEP": 1.5,
        }
    )
    migrate_app(app, ROOT / "portal" / "simulator" / "migrations")
    controller = start_smtp(app, "127.0.0.1", smtp_port)
    with LiveServer(app) as live:
        yield app, Inbox(live.url, smtp_port)
    controller.stop()
    with app.app_context():
        simulator_db.engine.dispose()


@pytest.fixture
def inbox(simulator) -> Iterator[Inbox]:
    _app, box = simulator
    box.clear()
    yield box


def portal_config(tmp: Path, inbox: Inbox, **extra) -> dict:
    return {
        "ENV": "test",
        **SECRETS,
        "DATABASE_URL": database_url("TEST_PORTAL_DATABASE_URL", tmp, "portal"),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": inbox.smtp_port,
        "SMS_GATEWAY_URL": f"{inbox.base_url}/sms-gateway/messages",
        "REGISTRY_URL": inbox.base_url,
        # Jobs run in process here; the worker test puts them on Redis. Rate limits use
        # Redis whenever the suite is given one (the CI's second pass).
        "REDIS_URL": "",
        "RATELIMIT_STORAGE_URI": os.environ.get("TEST_REDIS_URL") or "memory://",
        **extra,
    }


@pytest.fixture(scope="session")
def portal_app(tmp_path_factory, simulator):

    _sim, box = simulator
    app = create_portal(portal_config(tmp_path_factory.mktemp("portal"), box))
    app.test_client_class = IsolatedClient
    migrate_app(app, ROOT / "portal" / "migrations")
    yield app
    with app.app_context():
        portal_db.engine.dispose()


@pytest.fixture
def app(portal_app, inbox):
    """The portal, with an empty database and fresh rate limits for each test."""

    with portal_app.app_context():
        limiter.reset()
        yield portal_app
        portal_db.session.remove()
        wipe(portal_db)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_citizen(app):
    """Factory: a citizen with confirmed contacts and a known password."""

    counter = iter(range(1, 10_000))

    def make(password: str = "violet-harbour-lamp", **fields):
        n = next(counter)
        defaults = {
            "surname": "Иванова",
            "given_name": "Мария",
            "phone": f"+7916{n:07d}",
            "email": f"citizen{n}@example.ru",
        }
        defaults.update(fields)
        return identity.create_citizen(password=password, **defaults)

    return make


@pytest.fixture(scope="session")
def diary_app(tmp_path_factory):

    tmp = tmp_path_factory.mktemp("diary")
    app = create_diary(
        {
            "ENV": "test",
            "SECRET_KEY": SECRETS["SECRET_KEY"],
            "DATABASE_URL": database_url("TEST_DIARY_DATABASE_URL", tmp, "diary"),
        }
    )
    app.test_client_class = IsolatedClient
    migrate_app(app, ROOT / "diary_service" / "migrations")
    yield app
    with app.app_context():
        diary_db.engine.dispose()


@pytest.fixture(scope="session")
def portal_server(portal_app) -> Iterator[str]:
    """The portal on a real HTTP server: the registries' callbacks reach it there."""
    with LiveServer(portal_app) as live:
        portal_app.config["PUBLIC_URL"] = live.url
        yield live.url


@pytest.fixture(scope="session")
def registries(simulator) -> Iterator[str]:
    """The simulator's registries with a reference population and answers dispatched
    by the same background thread the simulator runs under ``make run``."""
    sim_app, box = simulator
    with sim_app.app_context():
        generate_population(60)
    stop = start_dispatcher(sim_app, interval=0.1)
    yield box.base_url
    stop()


REGISTRY_NAMES = ("sfr", "mvd", "zags", "post")


@pytest.fixture
def proofing(app, portal_server, registries) -> Iterator[str]:
    """A test that walks checks through the registries; their rules are reset after it."""
    yield registries
    for name in REGISTRY_NAMES:
        body = json.dumps({"default_outcome": "auto", "delay_seconds": 0, "down": "none"}).encode()
        req = urllib.request.Request(
            f"{registries}/api/registries/{name}/rule",
            data=body,
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(req, timeout=10).close()
